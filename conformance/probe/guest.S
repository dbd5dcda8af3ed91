/* The guest: runs at EL1 in a fresh VM, position independent, copied to the code slot.
 *
 * x0 holds the mailbox: [0] port IPA, [8] stage-1 on (0/1), [16] TTBR0, [24] MAIR, [32] TCR,
 * [40] the code's IPA >> 21, [64...] operations as (kind, address) pairs ending with kind 0 (kind 9,
 * a host event, does nothing in the guest: the VMM acts when the guest announces it). Before each operation the
 * guest stores its number to the port (an MMIO exit the probe sees); a loaded value is stored to
 * port+24; every exception it takes stores ESR to port+8 and FAR to port+16, then resumes after
 * the access (an instruction abort, or any exception taken outside the guest's code, returns to
 * the caller of the fetch).
 */
	.arch	armv8.1-a
	.text
	.balign	4096
	.globl	guest_start, guest_end
guest_start:
	mov	x20, x0
	adr	x1, vectors
	msr	vbar_el1, x1
	isb
	ldr	x21, [x20, #0]
	ldr	x19, [x20, #40]
	ldr	x2, [x20, #8]
	cbz	x2, 1f
	ldr	x3, [x20, #16]
	msr	ttbr0_el1, x3
	ldr	x3, [x20, #24]
	msr	mair_el1, x3
	ldr	x3, [x20, #32]
	msr	tcr_el1, x3
	isb
	tlbi	vmalle1
	dsb	sy
	isb
	mrs	x3, sctlr_el1
	orr	x3, x3, #1		/* M */
	orr	x3, x3, #(1 << 2)	/* C */
	orr	x3, x3, #(1 << 12)	/* I */
	msr	sctlr_el1, x3
	isb
1:	add	x22, x20, #64
	mov	x23, #0
next:	ldp	x24, x25, [x22], #16
	cbz	x24, done
	add	x23, x23, #1
	str	x23, [x21]
	mov	x0, x25
	mov	x1, x23
	cmp	x24, #1
	b.eq	op_load
	cmp	x24, #2
	b.eq	op_store
	cmp	x24, #3
	b.eq	op_fetch
	cmp	x24, #4
	b.eq	op_zva
	cmp	x24, #5
	b.eq	op_ldp
	cmp	x24, #6
	b.eq	op_ldxr
	cmp	x24, #7
	b.eq	op_ldadd
	cmp	x24, #8
	b.eq	op_civac
	b	next
op_load:
	ldr	x1, [x0]
	str	x1, [x21, #24]
	b	next
op_store:
	str	x1, [x0]
	b	next
op_fetch:
	blr	x0
	b	next
op_zva:
	dc	zva, x0
	b	next
op_ldp:
	ldp	x1, x2, [x0]
	str	x1, [x21, #24]
	b	next
op_ldxr:
	ldxr	x1, [x0]
	clrex
	str	x1, [x21, #24]
	b	next
op_ldadd:
	ldadd	x1, x2, [x0]
	b	next
op_civac:
	dc	civac, x0
	b	next
done:	str	x23, [x21, #32]
	b	done

handler:
	mrs	x26, esr_el1
	str	x26, [x21, #8]
	mrs	x27, far_el1
	str	x27, [x21, #16]
	lsr	x26, x26, #26
	cmp	x26, #0x21		/* instruction abort, same EL */
	b.eq	2f
	cmp	x26, #0x20
	b.eq	2f
	mrs	x27, elr_el1		/* anything taken outside the guest's own code ends a fetch */
	lsr	x28, x27, #21
	cmp	x28, x19
	b.ne	2f
	add	x27, x27, #4
	msr	elr_el1, x27
	eret
2:	msr	elr_el1, x30
	eret

	.balign	2048
vectors:
	.rept	16
	b	handler
	.balign	128
	.endr
guest_end:
