"""Real-kernel test harness: a qemu VM on a Debian kernel (see README.md)."""
