"""Sizes in the kernel's shorthand (4K, 2M, 1G)."""


def size_text(n: int) -> str:
    for unit, sz in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= sz and n % sz == 0:
            return f"{n // sz}{unit}"
    return str(n)
