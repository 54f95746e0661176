# SPDX-License-Identifier: GPL-2.0-or-later
# L2: COM1 in both directions. The host writes a line on the VMM's stdin
# once it sees COM1-READY; the guest reads it from the console and echoes it.
stty -echo 2>/dev/null
echo "COM1-READY"
if read -t 60 -r line; then
	echo "GOT:<$line>"
	if [ "$line" = "hello-com1 42" ]; then
		echo "VERDICT: PASS"
	else
		echo "VERDICT: FAIL read <$line>"
	fi
else
	echo "VERDICT: FAIL no line on COM1 within 60 s"
fi
