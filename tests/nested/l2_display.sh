# SPDX-License-Identifier: GPL-2.0-or-later
# L2 side of the display and input test (l1_display.sh drives minivmm in
# L1 with --vga std --tablet on and a control socket).  Linux's own drivers
# meet minivmm's devices: bochs (DRM, Bochs DISPI and the linear
# framebuffer BAR) draws a known picture through /dev/fb0 that L1 then
# takes a screendump of; uhci_hcd + usbhid + hid_generic find the USB
# tablet, atkbd (built in; "AT Raw Set 2" after a direct kernel boot, whose
# i8042 no BIOS set to translate) the i8042 keyboard and psmouse the PS/2 mouse;
# evdev shows the events L1 sends through QMP input-send-event and
# send-key.  L1 writes one line on the console after each step.
fail() { echo "VERDICT: FAIL $*"; exit 0; }
stty -echo 2>/dev/null

step() { # tell L1, wait for its line
	echo "STEP $1"
	read -t 120 -r line || fail "no answer from L1 after step $1"
	echo "L1 SAYS: $line"
}

id() { cat /sys/bus/pci/devices/0000:00:$1/vendor /sys/bus/pci/devices/0000:00:$1/device 2>/dev/null | tr '\n' ' '; }
[ "$(id 02.0)" = "0x1234 0x1111 " ] || fail "00:02.0 is not the VGA 1234:1111: $(id 02.0)"
[ "$(id 01.2)" = "0x8086 0x7020 " ] || fail "00:01.2 is not the UHCI 8086:7020: $(id 01.2)"
echo "display-test: VGA at 00:02.0 and UHCI at 00:01.2"

# The framebuffer: bochs-drm's fbdev at 1024x768, 32 bits per pixel.
i=0
while [ ! -c /dev/fb0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -c /dev/fb0 ] || fail "no /dev/fb0 (bochs did not bind: $(dmesg | grep -i bochs | tail -3))"
mode=$(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)
bpp=$(cat /sys/class/graphics/fb0/bits_per_pixel 2>/dev/null)
stride=$(cat /sys/class/graphics/fb0/stride 2>/dev/null)
echo "display-test: fb0 $(cat /sys/class/graphics/fb0/name) ${mode} ${bpp} bpp stride ${stride}"
[ "$mode" = "1024,768" ] && [ "$bpp" = 32 ] && [ "$stride" = 4096 ] ||
	fail "fb0 is ${mode} at ${bpp} bpp, stride ${stride}, expected 1024,768 32 4096"
dd if=/l2/picture.bin of=/dev/fb0 bs=65536 2>/dev/null || fail "writing /dev/fb0"
sync
sleep 1	# the fbdev emulation copies its shadow to VRAM in a worker
echo "display-test: picture written"

# Input devices, by name in /proc/bus/input/devices.
evdev_of() { # name pattern
	awk -v pat="$1" '/^N: Name=/ { hit = ($0 ~ pat) } hit && /^H: Handlers=/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^event/) { sub("Handlers=", "", $i); print $i; exit } }' \
		/proc/bus/input/devices
}
i=0
while { [ -z "$(evdev_of 'QEMU USB Tablet')" ] || [ -z "$(evdev_of 'AT (Translated|Raw) Set 2 keyboard')" ] ||
	[ -z "$(evdev_of 'PS/2')" ]; } && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
inputs="$(grep Name= /proc/bus/input/devices | tr '\n' ' '); dmesg: $(dmesg | grep -i -E 'i8042|serio|atkbd|psmouse|keyboard' | tr '\n' ' ')"
tab=$(evdev_of 'QEMU USB Tablet')
kbd=$(evdev_of 'AT (Translated|Raw) Set 2 keyboard')
mou=$(evdev_of 'PS/2')
[ -n "$tab" ] || fail "no QEMU USB Tablet input device: $inputs"
[ -n "$kbd" ] || fail "no AT keyboard input device: $inputs"
[ -n "$mou" ] || fail "no PS/2 mouse input device: $inputs"
echo "display-test: tablet /dev/input/$tab, keyboard $kbd, mouse $mou"
# Opening the tablet's event device starts usbhid's polling.
cat /dev/input/$tab >/tmp/tab.bin &
p1=$!
cat /dev/input/$kbd >/tmp/kbd.bin &
p2=$!
cat /dev/input/$mou >/tmp/mou.bin &
p3=$!
# A shell reading a line typed on the console's keyboard (tty1, the VT).
(read -t 100 -r line </dev/tty1; echo "$line" >/tmp/tty1.txt) &
sleep 1
step ready	# L1: screendump, input-send-event abs + btn, sendkey a, rel, VNC pointer and keys
sleep 1
kill $p1 $p2 $p3
# struct input_event on x86-64: 16 bytes of time, u16 type, u16 code, s32 value.
events() { # file: "type code value" per event, SYN dropped
	od -An -v -tu2 "$1" | tr -s ' ' '\n' | grep -v '^$' |
		awk '{ a[NR % 12] = $1 } NR % 12 == 0 { v = a[11] + a[0] * 65536; if (v >= 2147483648) v -= 4294967296; if (a[9] != 0) print a[9], a[10], v }'
}
echo "display-test: tablet events: $(events /tmp/tab.bin | tr '\n' ';')"
echo "display-test: keyboard events: $(events /tmp/kbd.bin | tr '\n' ';')"
echo "display-test: mouse events: $(events /tmp/mou.bin | tr '\n' ';')"
events /tmp/tab.bin | grep -q '^3 0 12345$' || fail "tablet: no ABS_X 12345"
events /tmp/tab.bin | grep -q '^3 1 23456$' || fail "tablet: no ABS_Y 23456"
events /tmp/tab.bin | grep -q '^1 272 1$' || fail "tablet: no BTN_LEFT press"
events /tmp/tab.bin | grep -q '^1 272 0$' || fail "tablet: no BTN_LEFT release"
events /tmp/kbd.bin | grep -q '^1 30 1$' || fail "keyboard: no KEY_A press"
events /tmp/kbd.bin | grep -q '^1 30 0$' || fail "keyboard: no KEY_A release"
events /tmp/kbd.bin | grep -q '^1 29 1$' || fail "keyboard: no KEY_LEFTCTRL press (the chord)"
events /tmp/mou.bin | grep -q '^2 0 7$' || fail "mouse: no REL_X 7"
# VNC's pointer at (512,384) of 1024x768, scaled as QEMU does: x * 32767 /
# 1023 and y * 32767 / 767, rounded.
events /tmp/tab.bin | grep -q '^3 0 16400$' || fail "tablet: no ABS_X 16400 from the VNC pointer"
events /tmp/tab.bin | grep -q '^3 1 16405$' || fail "tablet: no ABS_Y 16405 from the VNC pointer"
events /tmp/tab.bin | grep -q '^1 273 1$' || fail "tablet: no BTN_RIGHT from the VNC pointer (mask 4)"
i=0
while [ ! -s /tmp/tty1.txt ] && [ $i -lt 25 ]; do sleep 0.2; i=$((i + 1)); done
echo "display-test: tty1 read '$(cat /tmp/tty1.txt 2>/dev/null)'"
# (after the keys send-key typed before: "a", Ctrl-B)
case "$(cat /tmp/tty1.txt 2>/dev/null)" in
*vnc42) ;;
*) fail "the shell on tty1 did not read a line ending in vnc42" ;;
esac

echo "VERDICT: PASS"
