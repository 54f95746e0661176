// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minivmm's DSDT for the "pc" machine (i440FX + PIIX3/PIIX4, see
 * shared/design.md).  Compiled with iasl at build time and embedded by
 * firmware/aml2c.py.  ACPI 1.0 (revision 1, 32-bit integers) because that
 * is what Windows Server 2003 was written against.
 *
 * Two values are filled in at run time by firmware/acpi.c, found by
 * aml2c.py in the compiled AML:
 *   - the PCI hole in \_SB.PCI0._CRS: the DWordMemory with the placeholder
 *     range 0xE0000000-0xFEBFFFFF becomes [low RAM end, 0xFEC00000);
 *   - FDEN (Zero here) becomes One when the machine has a floppy controller.
 * Processors live in an SSDT generated in C (their number varies).
 *
 * Keep to the AML subset SeaBIOS's DSDT parser understands (Scope, Device,
 * Name, Method, OperationRegion, Field, Processor; integer and string
 * constants; no External): on anything else it skips the rest of the scope,
 * and without the PNP0303 device it skips keyboard initialisation.
 */
DefinitionBlock ("dsdt.aml", "DSDT", 1, "MINVMM", "MVMMDSDT", 1)
{
	Scope (\_SB)
	{
		Device (PCI0)
		{
			Name (_HID, EisaId ("PNP0A03"))
			Name (_ADR, Zero)
			Name (_UID, One)
			Name (_CRS, ResourceTemplate ()
			{
				WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
					0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
				IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
				WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
					0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
				WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
					0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
				DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
					ReadWrite, 0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000,
					0x00020000)
				// Placeholder, patched: see the header comment.
				DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
					ReadWrite, 0x00000000, 0xE0000000, 0xFEBFFFFF, 0x00000000,
					0x1EC00000)
			})

			/*
			 * Slot S, pin P (INTA = 0) goes to PIRQ[(S + P - 1) & 3], as
			 * the PIIX3 and SeaBIOS's $PIR have it.  Slot 1 INTA (the
			 * PIIX4 PM function) is wired to the SCI, IRQ 9: LNKS.
			 */
			Name (_PRT, Package ()
			{
				Package () { 0x0000FFFF, 0, LNKD, 0 },
				Package () { 0x0000FFFF, 1, LNKA, 0 },
				Package () { 0x0000FFFF, 2, LNKB, 0 },
				Package () { 0x0000FFFF, 3, LNKC, 0 },
				Package () { 0x0001FFFF, 0, LNKS, 0 },
				Package () { 0x0001FFFF, 1, LNKB, 0 },
				Package () { 0x0001FFFF, 2, LNKC, 0 },
				Package () { 0x0001FFFF, 3, LNKD, 0 },
				Package () { 0x0002FFFF, 0, LNKB, 0 },
				Package () { 0x0002FFFF, 1, LNKC, 0 },
				Package () { 0x0002FFFF, 2, LNKD, 0 },
				Package () { 0x0002FFFF, 3, LNKA, 0 },
				Package () { 0x0003FFFF, 0, LNKC, 0 },
				Package () { 0x0003FFFF, 1, LNKD, 0 },
				Package () { 0x0003FFFF, 2, LNKA, 0 },
				Package () { 0x0003FFFF, 3, LNKB, 0 },
				Package () { 0x0004FFFF, 0, LNKD, 0 },
				Package () { 0x0004FFFF, 1, LNKA, 0 },
				Package () { 0x0004FFFF, 2, LNKB, 0 },
				Package () { 0x0004FFFF, 3, LNKC, 0 },
				Package () { 0x0005FFFF, 0, LNKA, 0 },
				Package () { 0x0005FFFF, 1, LNKB, 0 },
				Package () { 0x0005FFFF, 2, LNKC, 0 },
				Package () { 0x0005FFFF, 3, LNKD, 0 },
				Package () { 0x0006FFFF, 0, LNKB, 0 },
				Package () { 0x0006FFFF, 1, LNKC, 0 },
				Package () { 0x0006FFFF, 2, LNKD, 0 },
				Package () { 0x0006FFFF, 3, LNKA, 0 },
				Package () { 0x0007FFFF, 0, LNKC, 0 },
				Package () { 0x0007FFFF, 1, LNKD, 0 },
				Package () { 0x0007FFFF, 2, LNKA, 0 },
				Package () { 0x0007FFFF, 3, LNKB, 0 },
				Package () { 0x0008FFFF, 0, LNKD, 0 },
				Package () { 0x0008FFFF, 1, LNKA, 0 },
				Package () { 0x0008FFFF, 2, LNKB, 0 },
				Package () { 0x0008FFFF, 3, LNKC, 0 },
				Package () { 0x0009FFFF, 0, LNKA, 0 },
				Package () { 0x0009FFFF, 1, LNKB, 0 },
				Package () { 0x0009FFFF, 2, LNKC, 0 },
				Package () { 0x0009FFFF, 3, LNKD, 0 },
				Package () { 0x000AFFFF, 0, LNKB, 0 },
				Package () { 0x000AFFFF, 1, LNKC, 0 },
				Package () { 0x000AFFFF, 2, LNKD, 0 },
				Package () { 0x000AFFFF, 3, LNKA, 0 },
				Package () { 0x000BFFFF, 0, LNKC, 0 },
				Package () { 0x000BFFFF, 1, LNKD, 0 },
				Package () { 0x000BFFFF, 2, LNKA, 0 },
				Package () { 0x000BFFFF, 3, LNKB, 0 },
				Package () { 0x000CFFFF, 0, LNKD, 0 },
				Package () { 0x000CFFFF, 1, LNKA, 0 },
				Package () { 0x000CFFFF, 2, LNKB, 0 },
				Package () { 0x000CFFFF, 3, LNKC, 0 },
				Package () { 0x000DFFFF, 0, LNKA, 0 },
				Package () { 0x000DFFFF, 1, LNKB, 0 },
				Package () { 0x000DFFFF, 2, LNKC, 0 },
				Package () { 0x000DFFFF, 3, LNKD, 0 },
				Package () { 0x000EFFFF, 0, LNKB, 0 },
				Package () { 0x000EFFFF, 1, LNKC, 0 },
				Package () { 0x000EFFFF, 2, LNKD, 0 },
				Package () { 0x000EFFFF, 3, LNKA, 0 },
				Package () { 0x000FFFFF, 0, LNKC, 0 },
				Package () { 0x000FFFFF, 1, LNKD, 0 },
				Package () { 0x000FFFFF, 2, LNKA, 0 },
				Package () { 0x000FFFFF, 3, LNKB, 0 },
				Package () { 0x0010FFFF, 0, LNKD, 0 },
				Package () { 0x0010FFFF, 1, LNKA, 0 },
				Package () { 0x0010FFFF, 2, LNKB, 0 },
				Package () { 0x0010FFFF, 3, LNKC, 0 },
				Package () { 0x0011FFFF, 0, LNKA, 0 },
				Package () { 0x0011FFFF, 1, LNKB, 0 },
				Package () { 0x0011FFFF, 2, LNKC, 0 },
				Package () { 0x0011FFFF, 3, LNKD, 0 },
				Package () { 0x0012FFFF, 0, LNKB, 0 },
				Package () { 0x0012FFFF, 1, LNKC, 0 },
				Package () { 0x0012FFFF, 2, LNKD, 0 },
				Package () { 0x0012FFFF, 3, LNKA, 0 },
				Package () { 0x0013FFFF, 0, LNKC, 0 },
				Package () { 0x0013FFFF, 1, LNKD, 0 },
				Package () { 0x0013FFFF, 2, LNKA, 0 },
				Package () { 0x0013FFFF, 3, LNKB, 0 },
				Package () { 0x0014FFFF, 0, LNKD, 0 },
				Package () { 0x0014FFFF, 1, LNKA, 0 },
				Package () { 0x0014FFFF, 2, LNKB, 0 },
				Package () { 0x0014FFFF, 3, LNKC, 0 },
				Package () { 0x0015FFFF, 0, LNKA, 0 },
				Package () { 0x0015FFFF, 1, LNKB, 0 },
				Package () { 0x0015FFFF, 2, LNKC, 0 },
				Package () { 0x0015FFFF, 3, LNKD, 0 },
				Package () { 0x0016FFFF, 0, LNKB, 0 },
				Package () { 0x0016FFFF, 1, LNKC, 0 },
				Package () { 0x0016FFFF, 2, LNKD, 0 },
				Package () { 0x0016FFFF, 3, LNKA, 0 },
				Package () { 0x0017FFFF, 0, LNKC, 0 },
				Package () { 0x0017FFFF, 1, LNKD, 0 },
				Package () { 0x0017FFFF, 2, LNKA, 0 },
				Package () { 0x0017FFFF, 3, LNKB, 0 },
				Package () { 0x0018FFFF, 0, LNKD, 0 },
				Package () { 0x0018FFFF, 1, LNKA, 0 },
				Package () { 0x0018FFFF, 2, LNKB, 0 },
				Package () { 0x0018FFFF, 3, LNKC, 0 },
				Package () { 0x0019FFFF, 0, LNKA, 0 },
				Package () { 0x0019FFFF, 1, LNKB, 0 },
				Package () { 0x0019FFFF, 2, LNKC, 0 },
				Package () { 0x0019FFFF, 3, LNKD, 0 },
				Package () { 0x001AFFFF, 0, LNKB, 0 },
				Package () { 0x001AFFFF, 1, LNKC, 0 },
				Package () { 0x001AFFFF, 2, LNKD, 0 },
				Package () { 0x001AFFFF, 3, LNKA, 0 },
				Package () { 0x001BFFFF, 0, LNKC, 0 },
				Package () { 0x001BFFFF, 1, LNKD, 0 },
				Package () { 0x001BFFFF, 2, LNKA, 0 },
				Package () { 0x001BFFFF, 3, LNKB, 0 },
				Package () { 0x001CFFFF, 0, LNKD, 0 },
				Package () { 0x001CFFFF, 1, LNKA, 0 },
				Package () { 0x001CFFFF, 2, LNKB, 0 },
				Package () { 0x001CFFFF, 3, LNKC, 0 },
				Package () { 0x001DFFFF, 0, LNKA, 0 },
				Package () { 0x001DFFFF, 1, LNKB, 0 },
				Package () { 0x001DFFFF, 2, LNKC, 0 },
				Package () { 0x001DFFFF, 3, LNKD, 0 },
				Package () { 0x001EFFFF, 0, LNKB, 0 },
				Package () { 0x001EFFFF, 1, LNKC, 0 },
				Package () { 0x001EFFFF, 2, LNKD, 0 },
				Package () { 0x001EFFFF, 3, LNKA, 0 },
				Package () { 0x001FFFFF, 0, LNKC, 0 },
				Package () { 0x001FFFFF, 1, LNKD, 0 },
				Package () { 0x001FFFFF, 2, LNKA, 0 },
				Package () { 0x001FFFFF, 3, LNKB, 0 }
			})

			// PIIX3 ISA bridge, 00:01.0
			Device (ISA)
			{
				Name (_ADR, 0x00010000)

				// PIRQRC[A-D]: bit 7 disables the route, bits 3:0 are the ISA IRQ.
				OperationRegion (PIRQ, PCI_Config, 0x60, 0x04)
				Field (PIRQ, ByteAcc, NoLock, Preserve)
				{
					PRQA, 8,
					PRQB, 8,
					PRQC, 8,
					PRQD, 8
				}

				Name (FDEN, Zero)

				Device (RTC)
				{
					Name (_HID, EisaId ("PNP0B00"))
					Name (_CRS, ResourceTemplate ()
					{
						IO (Decode16, 0x0070, 0x0070, 0x01, 0x02)
						IRQNoFlags () {8}
					})
				}

				Device (KBD)
				{
					Name (_HID, EisaId ("PNP0303"))
					Name (_CRS, ResourceTemplate ()
					{
						IO (Decode16, 0x0060, 0x0060, 0x01, 0x01)
						IO (Decode16, 0x0064, 0x0064, 0x01, 0x01)
						IRQNoFlags () {1}
					})
				}

				Device (MOU)
				{
					Name (_HID, EisaId ("PNP0F13"))
					Name (_CRS, ResourceTemplate ()
					{
						IRQNoFlags () {12}
					})
				}

				Device (COM1)
				{
					Name (_HID, EisaId ("PNP0501"))
					Name (_UID, One)
					Name (_CRS, ResourceTemplate ()
					{
						IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
						IRQNoFlags () {4}
					})
				}

				Device (FDC0)
				{
					Name (_HID, EisaId ("PNP0700"))
					Method (_STA, 0, NotSerialized)
					{
						If (FDEN)
						{
							Return (0x0F)
						}
						Return (Zero)
					}
					Name (_CRS, ResourceTemplate ()
					{
						IO (Decode16, 0x03F2, 0x03F2, 0x00, 0x04)
						IO (Decode16, 0x03F7, 0x03F7, 0x00, 0x01)
						IRQNoFlags () {6}
						DMA (Compatibility, NotBusMaster, Transfer8) {2}
					})
				}
			}
		}

		// _STA of a PCI interrupt link from its PIRQRC value.
		Method (IQST, 1, NotSerialized)
		{
			If (And (Arg0, 0x80))
			{
				Return (0x09)
			}
			Return (0x0B)
		}

		// _CRS of a PCI interrupt link: the routed IRQ, none when disabled.
		// Byte 5 of the Interrupt descriptor is the low byte of its IRQ.
		Method (IQCR, 1, NotSerialized)
		{
			Store (ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {0}
			}, Local0)
			If (LNot (And (Arg0, 0x80)))
			{
				Store (And (Arg0, 0x0F), Index (Local0, 0x05))
			}
			Return (Local0)
		}

		Device (LNKA)
		{
			Name (_HID, EisaId ("PNP0C0F"))
			Name (_UID, 0)
			Name (_PRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11}
			})
			Method (_STA, 0, NotSerialized)
			{
				Return (IQST (\_SB.PCI0.ISA.PRQA))
			}
			Method (_DIS, 0, NotSerialized)
			{
				Or (\_SB.PCI0.ISA.PRQA, 0x80, \_SB.PCI0.ISA.PRQA)
			}
			Method (_CRS, 0, NotSerialized)
			{
				Return (IQCR (\_SB.PCI0.ISA.PRQA))
			}
			Method (_SRS, 1, NotSerialized)
			{
				Store (And (DerefOf (Index (Arg0, 0x05)), 0x0F), \_SB.PCI0.ISA.PRQA)
			}
		}

		Device (LNKB)
		{
			Name (_HID, EisaId ("PNP0C0F"))
			Name (_UID, 1)
			Name (_PRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11}
			})
			Method (_STA, 0, NotSerialized)
			{
				Return (IQST (\_SB.PCI0.ISA.PRQB))
			}
			Method (_DIS, 0, NotSerialized)
			{
				Or (\_SB.PCI0.ISA.PRQB, 0x80, \_SB.PCI0.ISA.PRQB)
			}
			Method (_CRS, 0, NotSerialized)
			{
				Return (IQCR (\_SB.PCI0.ISA.PRQB))
			}
			Method (_SRS, 1, NotSerialized)
			{
				Store (And (DerefOf (Index (Arg0, 0x05)), 0x0F), \_SB.PCI0.ISA.PRQB)
			}
		}

		Device (LNKC)
		{
			Name (_HID, EisaId ("PNP0C0F"))
			Name (_UID, 2)
			Name (_PRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11}
			})
			Method (_STA, 0, NotSerialized)
			{
				Return (IQST (\_SB.PCI0.ISA.PRQC))
			}
			Method (_DIS, 0, NotSerialized)
			{
				Or (\_SB.PCI0.ISA.PRQC, 0x80, \_SB.PCI0.ISA.PRQC)
			}
			Method (_CRS, 0, NotSerialized)
			{
				Return (IQCR (\_SB.PCI0.ISA.PRQC))
			}
			Method (_SRS, 1, NotSerialized)
			{
				Store (And (DerefOf (Index (Arg0, 0x05)), 0x0F), \_SB.PCI0.ISA.PRQC)
			}
		}

		Device (LNKD)
		{
			Name (_HID, EisaId ("PNP0C0F"))
			Name (_UID, 3)
			Name (_PRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11}
			})
			Method (_STA, 0, NotSerialized)
			{
				Return (IQST (\_SB.PCI0.ISA.PRQD))
			}
			Method (_DIS, 0, NotSerialized)
			{
				Or (\_SB.PCI0.ISA.PRQD, 0x80, \_SB.PCI0.ISA.PRQD)
			}
			Method (_CRS, 0, NotSerialized)
			{
				Return (IQCR (\_SB.PCI0.ISA.PRQD))
			}
			Method (_SRS, 1, NotSerialized)
			{
				Store (And (DerefOf (Index (Arg0, 0x05)), 0x0F), \_SB.PCI0.ISA.PRQD)
			}
		}

		// The SCI: fixed at IRQ 9, never offered to the other links.
		Device (LNKS)
		{
			Name (_HID, EisaId ("PNP0C0F"))
			Name (_UID, 4)
			Name (_PRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {9}
			})
			Method (_STA, 0, NotSerialized)
			{
				Return (0x0B)
			}
			Method (_DIS, 0, NotSerialized)
			{
			}
			Method (_CRS, 0, NotSerialized)
			{
				Return (_PRS)
			}
			Method (_SRS, 1, NotSerialized)
			{
			}
		}
	}

	// Soft-off: PM1a_CNT.SLP_TYP 0, as the PIIX4 decodes it.
	Name (\_S5, Package (0x04) { Zero, Zero, Zero, Zero })

	/*
	 * No Scope (\_GPE): the power button is the FADT fixed feature and no
	 * GPE has a handler, and the OS predefines \_GPE anyway.  An empty
	 * Scope would also trip SeaBIOS's parser, which reads at least one
	 * term of every scope ("parse_termlist: overrun") and then skips the
	 * rest of the enclosing scope.
	 */
}
