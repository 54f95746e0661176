# SPDX-License-Identifier: GPL-2.0-or-later
# L2: reboot -f under --no-reboot (QEMU -no-reboot) ends the VMM, status 0.
echo "VERDICT: PASS (rebooting)"
reboot -f
sleep 30
echo "VERDICT: FAIL still running 30 s after reboot -f"
