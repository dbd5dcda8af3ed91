"""The hardware side: bit fields, ESR_EL2, memory attributes, the stage-2 table and its
maintenance operations, as the Arm architecture and arch/arm64/kvm/hyp/pgtable.c define them."""
