"""The kernel models: arm64 KVM's memslot, abort and fault-handling code per version, one module
per kernel file (memslot, abort, mmio, user_mem_abort, install, gmem, kvm_main), assembled in
kvm.py (v6.14) and specialised per version in models.py."""
