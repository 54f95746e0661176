# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the L1 scripts (tests/nested/l1_*.sh; nested_test.py ships it
# beside them): the check lines nested_test.py reads, and a wait.
#   ok WHAT / bad WHAT     print "L1-CHECK ok|FAIL WHAT"; bad counts in $fails
#   wait_for FILE PATTERN SECONDS
#                          0 once PATTERN is in FILE, 1 after SECONDS
fails=0
ok() { echo "L1-CHECK ok $*"; }
bad() { echo "L1-CHECK FAIL $*"; fails=$((fails + 1)); }

wait_for() {
	n=0
	while [ $n -lt $(($3 * 5)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}
