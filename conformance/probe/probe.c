/* s2viz conformance probe: runs inside the emulated arm64 machine, as /init's payload.
 *
 * For every case line on stdin it creates a fresh VM (of the case's IPA size) with a code slot (the
 * guest of guest.S) and a test slot at IPA 0x4000_0000 backed as the case says, runs the guest's
 * accesses one by one, performs the case's host events between them, and prints what happened as
 * "@@" records on stdout (parsed by conformance/harness.py):
 *   @@C <case> <what> <values...>     memslot, capability and VM set-up results
 *   @@O <case> <op>                    operation <op> starts (its events follow)
 *   @@E <case> <op> <event...>         KVM_RUN results, exits, guest exceptions, loaded values
 *   @@T <case> <op> <trace line>       kprobe events KVM emitted while the operation ran
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/udmabuf.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAP_CACHEABLE_PFNMAP 243
#ifndef KVM_CAP_ARM_MTE
#define KVM_CAP_ARM_MTE 205
#endif

/* guest_memfd, from the KVM API documentation (newer than the cross toolchain's headers). */
#define CAP_GUEST_MEMFD 234
#define CAP_GUEST_MEMFD_FLAGS 244
#define MEM_GUEST_MEMFD (1U << 2)
struct s2v_create_guest_memfd { uint64_t size, flags, reserved[6]; };
struct s2v_region2 {
	uint32_t slot, flags;
	uint64_t guest_phys_addr, memory_size, userspace_addr, guest_memfd_offset;
	uint32_t guest_memfd, pad1;
	uint64_t pad2[14];
};
#define IOCTL_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct s2v_create_guest_memfd)
#define IOCTL_SET_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct s2v_region2)

#define SZ_4K   0x1000UL
#define SZ_2M   0x200000UL
#define CODE_IPA   0x10000000UL
#define CODE_SIZE  SZ_2M
#define MBOX_OFF   0x100000UL
#define PT_OFF     0x180000UL
#define TEST_IPA   0x40000000UL
#define NOSLOT_IPA 0x80000000UL
#define KVM_CAP_IPA_SIZE 165          /* KVM_CAP_ARM_VM_IPA_SIZE */

/* The host's page and the block a level-2 entry maps (2 MiB with 4K pages, 32 MiB with 16K): the
 * test slot is one such block, so that every block size the host allows can be tried. */
static unsigned long PAGE, TEST_SIZE;
#define PORT_IPA   0xC0000000UL
#define HIDDEN_RAM_PA 0xA0000000UL     /* RAM above mem=1536M with -m 2G: not the kernel's */
#define MARK(i)    (0x5332564d00000000UL | (uint64_t)(i))   /* "S2VM" + buffer page index */
#define MARK_NEW(i) (0x5332564e00000000UL | (uint64_t)(i))  /* "S2VN": a page mapped by a replace event */
#define MARK_HOST(i) (0x5332564800000000UL | (uint64_t)(i)) /* "S2VH": hidden RAM no VMA of the slot maps */
#define RET_INSN   0xd65f03c0U

extern char guest_start[], guest_end[];

static int kvm_fd, trace_ok;
static char cur[64];

static void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "-EINVAL";
	case EFAULT: return "-EFAULT";
	case ENOSYS: return "-ENOSYS";
	case ENOEXEC: return "-ENOEXEC";
	case EPERM: return "-EPERM";
	case EINTR: return "-EINTR";
	case ENOMEM: return "-ENOMEM";
	case EEXIST: return "-EEXIST";
	case ENXIO: return "-ENXIO";
	case ENODEV: return "-ENODEV";
	case ENOENT: return "-ENOENT";
	case EBUSY: return "-EBUSY";
	case EAGAIN: return "-EAGAIN";
	case EHWPOISON: return "-EHWPOISON";
	case EOPNOTSUPP: return "-EOPNOTSUPP";
	case EIO: return "-EIO";
	default: { static char b[16]; snprintf(b, sizeof b, "-E%d", e); return b; }
	}
}

/* ---- kprobe events ------------------------------------------------------------------------- */

static int write_file(const char *path, const char *s, int append)
{
	int fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -errno;
	int r = write(fd, s, strlen(s));
	int e = r < 0 ? -errno : 0;
	close(fd);
	return e;
}

#define TRACING "/sys/kernel/tracing"

/* The stage-2 map path, by the kernel's own function names. Offsets 40 and 56 are ctx->addr and
 * ctx->level in struct kvm_pgtable_visit_ctx; the harness checks them against the map call. */
static const char *const kprobes[] = {
	"p:s2v_pte stage2_make_pte new=%x1:x64 addr=+40(%x0):x64 level=+56(%x0):s8",
	"p:s2v_map kvm_pgtable_stage2_map ipa=%x1:x64 size=%x2:x64 phys=%x3:x64 prot=%x4:x64",
	"p:s2v_relax kvm_pgtable_stage2_relax_perms ipa=%x1:x64 prot=%x2:x64",
	/* The leaf a permission change starts from (relax, write-protect, the access flag set): ctx->old
	 * (offset 8), with whatever the CPU's own access-flag update left in it. */
	"p:s2v_attr stage2_attr_walker old=+8(%x0):x64 addr=+40(%x0):x64 level=+56(%x0):s8",
	"r:s2v_uma user_mem_abort ret=$retval:s32",
	"r:s2v_abort kvm_handle_guest_abort ret=$retval:s32",
	"r:s2v_prep kvm_arch_prepare_memory_region ret=$retval:s32",
	"p:s2v_sea kvm_inject_sea",
	"p:s2v_io io_mem_abort",
	/* What host events do at stage 2: an MMU-notifier unmap, write protection for dirty logging,
	 * aging (the access flag cleared), and the access flag set again on an access-flag fault. */
	"p:s2v_unmap kvm_pgtable_stage2_unmap ipa=%x1:x64 size=%x2:x64",
	"p:s2v_wrprot kvm_pgtable_stage2_wrprotect ipa=%x1:x64 size=%x2:x64",
	"p:s2v_young kvm_pgtable_stage2_test_clear_young ipa=%x1:x64 size=%x2:x64 mkold=%x3:u8",
	"r:s2v_youngret kvm_pgtable_stage2_test_clear_young ret=$retval:u8",
	"p:s2v_mkyoung kvm_pgtable_stage2_mkyoung ipa=%x1:x64",
	"p:s2v_afault handle_access_fault",
	NULL,
};

static void setup_kprobes(void)
{
	int n = 0;
	if (access(TRACING "/kprobe_events", W_OK)) {
		rec("@@K none %s", strerror(errno));
		return;
	}
	write_file(TRACING "/kprobe_events", "", 0);
	for (int i = 0; kprobes[i]; i++) {
		int e = write_file(TRACING "/kprobe_events", kprobes[i], 1);
		const char *name = strchr(kprobes[i], ':') + 1;
		rec("@@K %.*s %s", (int)strcspn(name, " "), name, e ? err_name(-e) : "ok");
		n += !e;
	}
	write_file(TRACING "/buffer_size_kb", "4096", 0);
	if (n && !write_file(TRACING "/events/kprobes/enable", "1", 0))
		trace_ok = 1;
	/* The tracepoint with the ESR_EL2 of every guest abort. */
	int e = write_file(TRACING "/events/kvm/kvm_guest_fault/enable", "1", 0);
	rec("@@K kvm_guest_fault %s", e ? err_name(-e) : "ok");
	trace_ok |= !e;
	write_file(TRACING "/trace", "", 0);
}

/* Print what the kprobes recorded since the last call, attributed to operation `op`. trace_pipe is
 * read without blocking and consumes what it returns: clearing `trace` instead would reset the ring
 * buffer, which waits for an RCU grace period every time (slow under TCG). */
static int trace_fd = -1;

static int aged_calls;        /* kvm_pgtable_stage2_test_clear_young(mkold) calls seen (damon_age()) */

static void drain_trace(int op)
{
	static char buf[1 << 18];
	static size_t keep;          /* an incomplete last line, kept for the next read */
	if (!trace_ok)
		return;
	if (trace_fd < 0 && (trace_fd = open(TRACING "/trace_pipe", O_RDONLY | O_NONBLOCK)) < 0)
		return;
	for (;;) {
		ssize_t n = read(trace_fd, buf + keep, sizeof buf - 1 - keep);
		if (n <= 0)
			break;
		size_t len = keep + n;
		buf[len] = 0;
		char *end = strrchr(buf, '\n');
		size_t done = end ? (size_t)(end - buf) + 1 : 0;
		char save = buf[done];
		buf[done] = 0;
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			char *ev = strstr(line, " s2v_");
			if (!ev)
				ev = strstr(line, " kvm_guest_fault:");
			if (line[0] == '#' || !ev)
				continue;
			if (!strncmp(ev + 1, "s2v_young:", 10) && strstr(ev, "mkold=1"))
				aged_calls++;
			rec("@@T %s %d %s", cur, op, ev + 1);
		}
		buf[done] = save;
		keep = len - done;
		memmove(buf, buf + done, keep);
	}
}

/* ---- backings ------------------------------------------------------------------------------ */

/* A TEST_SIZE-aligned hole of TEST_SIZE in the address space, for a mapping whose alignment matters. */
static void *aligned_hole(void)
{
	uint8_t *p = mmap(NULL, 3 * TEST_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)p + TEST_SIZE - 1) & ~(TEST_SIZE - 1));
	return a;
}

/* Markers per 4 KiB of the buffer, whatever the host's page: the guest's offsets are 4K-based. */
static void put_markers_from(volatile uint8_t *base, size_t size, size_t first, int fresh)
{
	for (size_t i = 0; i < size / SZ_4K; i++) {
		*(volatile uint32_t *)(base + i * SZ_4K) = RET_INSN;
		*(volatile uint64_t *)(base + i * SZ_4K + 8) = fresh ? MARK_NEW(first + i) : MARK(first + i);
		*(volatile uint64_t *)(base + i * SZ_4K + 0x10) = 0;
		*(volatile uint64_t *)(base + i * SZ_4K + 0x18) = 0;
	}
}

static void put_markers(volatile uint8_t *base, size_t size)
{
	put_markers_from(base, size, 0, 0);
}

static void *map_devmem_at(void *at, size_t size, uint64_t off, int shared)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0) {
		rec("@@C %s backing_error /dev/mem %s", cur, err_name(errno));
		return NULL;
	}
	void *p = mmap(at, size, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
		       fd, HIDDEN_RAM_PA + off);
	close(fd);
	if (p == MAP_FAILED) {
		rec("@@C %s backing_error mmap(/dev/mem) %s", cur, err_name(errno));
		return NULL;
	}
	return p;
}

static void *map_devmem(void *at, int shared)
{
	return map_devmem_at(at, TEST_SIZE, 0, shared);
}

/* udmabuf over every other memfd page, in reverse order: page i of the buffer is memfd page
 * 2(N-1-i). Whichever way the allocator hands out the memfd's pages, the page physically after a
 * buffer page is not the next buffer page. */
static void *map_udmabuf_size(void *at, size_t size)
{
	size_t n = size / PAGE;
	int mfd = memfd_create("s2v-udmabuf", MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, 2 * size) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		rec("@@C %s backing_error memfd %s", cur, err_name(errno));
		return NULL;
	}
	/* Allocate the memfd's pages in order first, so that reversing them scatters the buffer. */
	uint8_t *tmp = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	for (size_t i = 0; tmp != MAP_FAILED && i < 2 * n; i++)
		tmp[i * PAGE] = 1;
	if (tmp != MAP_FAILED)
		munmap(tmp, 2 * size);
	int dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0) {
		rec("@@C %s backing_error /dev/udmabuf %s", cur, err_name(errno));
		return NULL;
	}
	struct udmabuf_create_list *l = calloc(1, sizeof(*l) + n * sizeof(struct udmabuf_create_item));
	l->flags = UDMABUF_FLAGS_CLOEXEC;
	l->count = n;
	for (size_t i = 0; i < n; i++) {
		l->list[i].memfd = mfd;
		l->list[i].offset = 2 * (n - 1 - i) * PAGE;
		l->list[i].size = PAGE;
	}
	int buf = ioctl(dev, UDMABUF_CREATE_LIST, l);
	int e = errno;
	free(l);
	close(dev);
	if (buf < 0) {
		rec("@@C %s backing_error UDMABUF_CREATE_LIST %s", cur, err_name(e));
		return NULL;
	}
	void *p = mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, buf, 0);
	close(buf);
	close(mfd);
	if (p == MAP_FAILED) {
		rec("@@C %s backing_error mmap(udmabuf) %s", cur, err_name(errno));
		return NULL;
	}
	return p;
}

static void *map_udmabuf(void *at)
{
	return map_udmabuf_size(at, TEST_SIZE);
}

/* BAR 2 of QEMU's ivshmem-plain device (1af4:1110) through sysfs: resource2 is mapped with
 * pgprot_device, resource2_wc with pgprot_writecombine. */
static void *map_bar(void *at, int wc)
{
	char path[300], id[32];
	FILE *f;
	int found = 0;
	for (int dev = 0; dev < 32 && !found; dev++) {
		snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/vendor", dev);
		if (!(f = fopen(path, "r")))
			continue;
		found = fgets(id, sizeof id, f) && !strncmp(id, "0x1af4", 6);
		fclose(f);
		snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/device", dev);
		if (found && (f = fopen(path, "r"))) {
			found = fgets(id, sizeof id, f) && !strncmp(id, "0x1110", 6);
			fclose(f);
		}
		if (found) {
			snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/enable", dev);
			write_file(path, "1", 0);
			snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/resource2%s", dev, wc ? "_wc" : "");
		}
	}
	if (!found) {
		rec("@@C %s backing_error no ivshmem device", cur);
		return NULL;
	}
	int fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0) {
		rec("@@C %s backing_error %s %s", cur, path, err_name(errno));
		return NULL;
	}
	void *p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		rec("@@C %s backing_error mmap(%s) %s", cur, path, err_name(errno));
		return NULL;
	}
	return p;
}

/* The same BAR through vfio-pci (the device bound to vfio-pci behind the emulated SMMUv3, type-1
 * IOMMU): vfio's mmap adds VM_ALLOW_ANY_UNCACHED. The device is opened once per boot. */
static int vfio_dev = -1;
static uint64_t vfio_bar_off;

static int open_vfio(void)
{
	char path[300], id[32], link[300], name[32];
	FILE *f;
	int dev, found = 0;
	for (dev = 0; dev < 32 && !found; dev++) {
		snprintf(path, sizeof path, "/sys/bus/pci/devices/0000:00:%02x.0/device", dev);
		if ((f = fopen(path, "r"))) {
			found = fgets(id, sizeof id, f) && !strncmp(id, "0x1110", 6);
			fclose(f);
		}
	}
	if (!found)
		return -ENODEV;
	dev--;
	snprintf(name, sizeof name, "0000:00:%02x.0", dev);
	snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver_override", name);
	write_file(path, "vfio-pci", 0);
	write_file("/sys/bus/pci/drivers_probe", name, 0);
	snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", name);
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	snprintf(path, sizeof path, "/dev/vfio/%s", strrchr(link, '/') + 1);
	int container = open("/dev/vfio/vfio", O_RDWR), group = open(path, O_RDWR);
	if (container < 0 || group < 0)
		return -errno;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) || ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -errno;
	int fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (fd < 0)
		return -errno;
	struct vfio_region_info ri = { .argsz = sizeof ri, .index = VFIO_PCI_BAR2_REGION_INDEX };
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	vfio_bar_off = ri.offset;
	vfio_dev = fd;
	return 0;
}

static void *map_vfio(void *at)
{
	if (vfio_dev < 0) {
		int e = open_vfio();
		if (e) {
			rec("@@C %s backing_error vfio %s", cur, err_name(-e));
			return NULL;
		}
	}
	void *p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, vfio_dev, vfio_bar_off);
	if (p == MAP_FAILED) {
		rec("@@C %s backing_error mmap(vfio) %s", cur, err_name(errno));
		return NULL;
	}
	return p;
}

/* fsdax (conformance/bugs.py only): a file on an ext4 filesystem mounted -o dax over an nvdimm in fsdax
 * mode, so its pages are ZONE_DEVICE pages GUP takes references on. */
#define DAX_FILE "/mnt/dax/f"
static int dax_fd = -1;

/* The PFN backing `va` (from /proc/self/pagemap) and its reference count (/proc/kpagecount). */
static void page_count(const char *when, const char *name, void *va)
{
	uint64_t ent = 0, cnt = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		pread(fd, &ent, 8, ((uintptr_t)va / PAGE) * 8);
		close(fd);
	}
	uint64_t pfn = ent & ((1UL << 55) - 1);
	fd = open("/proc/kpagecount", O_RDONLY);
	if (fd >= 0 && (ent >> 63)) {
		pread(fd, &cnt, 8, pfn * 8);
		close(fd);
	}
	rec("@@E %s 0 kpagecount %s %s pfn=%#lx count=%lu present=%d", cur, when, name, pfn, cnt, (int)(ent >> 63));
}

static int memfd_fd = -1;              /* the memfd backing the test slot, while its case runs */

/* Returns the host address of the test slot's backing, or NULL. */
static void *make_backing(const char *kind, void **remap_later, int *markers_done)
{
	uint8_t *at = aligned_hole();
	void *p = MAP_FAILED;
	*remap_later = NULL;
	if (!strcmp(kind, "anon") || !strcmp(kind, "thp") || !strcmp(kind, "remapdev")) {
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED)
			madvise(p, TEST_SIZE, strcmp(kind, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
		if (!strcmp(kind, "remapdev"))
			*remap_later = p;
	} else if (!strcmp(kind, "hugetlb")) {
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
			 -1, 0);
	} else if (!strcmp(kind, "anonshared")) {
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	} else if (!strcmp(kind, "memfd")) {
		int fd = memfd_create("s2v-memfd", 0);
		if (fd >= 0 && !ftruncate(fd, TEST_SIZE))
			p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
		memfd_fd = fd;                  /* kept for a replace event: the same memfd again */
	} else if (!strcmp(kind, "devmem")) {
		return map_devmem(at, 1);
	} else if (!strcmp(kind, "devmem4k")) {
		/* One page past block alignment: the mapping can only be made of pages. */
		return map_devmem(at + PAGE, 1);
	} else if (!strcmp(kind, "devmemp")) {
		/* Markers go in through a shared mapping: a store through the private one would replace
		 * the host PTE by an anonymous copy (COW), and the slot would no longer be a PFNMAP of
		 * the device memory with read-only host PTEs. */
		uint8_t *tmp = aligned_hole();
		if (!tmp || !map_devmem(tmp, 1))
			return NULL;
		put_markers(tmp, TEST_SIZE);
		munmap(tmp, TEST_SIZE);
		*markers_done = 1;
		return map_devmem(at, 0);
	} else if (!strcmp(kind, "fsdax")) {
		/* Written whole first, so every block is allocated (busybox makes ext2, which ext4 mounts
		 * without fallocate support). */
		static char zero[1 << 16];
		dax_fd = open(DAX_FILE, O_RDWR | O_CREAT, 0600);
		for (size_t off = 0; dax_fd >= 0 && off < 2 * TEST_SIZE; off += sizeof zero)
			if (pwrite(dax_fd, zero, sizeof zero, off) != sizeof zero) {
				rec("@@C %s backing_error write %s %s", cur, DAX_FILE, err_name(errno));
				return NULL;
			}
		if (dax_fd < 0 || fsync(dax_fd)) {
			rec("@@C %s backing_error %s %s", cur, DAX_FILE, err_name(errno));
			return NULL;
		}
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dax_fd, 0);
	} else if (!strcmp(kind, "devdax")) {
		dax_fd = open("/dev/dax0.0", O_RDWR);
		if (dax_fd < 0) {
			rec("@@C %s backing_error /dev/dax0.0 %s", cur, err_name(errno));
			return NULL;
		}
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, dax_fd, 0);
	} else if (!strcmp(kind, "split")) {
		/* One memslot over two VMAs: the first page /dev/mem (a VM_PFNMAP of hidden RAM at a
		 * block-aligned PA), the rest anonymous memory. Hidden RAM's other pages get "S2VH" markers, so
		 * a block that reaches past the /dev/mem VMA shows in what the guest reads. */
		uint8_t *tmp = aligned_hole();
		if (!tmp || !map_devmem(tmp, 1))
			return NULL;
		for (size_t i = 0; i < TEST_SIZE / SZ_4K; i++)
			*(volatile uint64_t *)(tmp + i * SZ_4K + 8) = MARK_HOST(i);
		munmap(tmp, TEST_SIZE);
		p = mmap(at, TEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			goto fail;
		madvise(p, TEST_SIZE, MADV_NOHUGEPAGE);
		if (!map_devmem_at(at, PAGE, 0, 1))
			return NULL;
	} else if (!strcmp(kind, "vfio")) {
		return map_vfio(at);
	} else if (!strcmp(kind, "bar") || !strcmp(kind, "barwc")) {
		return map_bar(at, kind[3] == 'w');
	} else if (!strcmp(kind, "udmabuf") || !strcmp(kind, "udmabuf4k")) {
		/* udmabuf4k: the same buffer one page past 2 MiB alignment, so no block can be used. */
		p = map_udmabuf(kind[7] ? at + PAGE : at);
		if (!p)
			return NULL;
	} else {
		rec("@@C %s backing_error unknown %s", cur, kind);
		return NULL;
	}
	if (p == MAP_FAILED) {
fail:
		rec("@@C %s backing_error mmap %s", cur, err_name(errno));
		return NULL;
	}
	return p;
}

/* ---- a whole VM: several memslots, each over several VMAs ------------------------------------- */

/* A layout case's line ends with one spec per memslot, in registration order (KVM slot ids 1, 2, ...):
 *   <ipa>:<size>:<flags>=<kind>@<size>/<kind>@<size>...    (hex; flags "-", "log", "ro")
 * Each slot's userspace range is one block-aligned PROT_NONE reservation into which each VMA is mapped
 * with MAP_FIXED at its offset, in order, backed as the one-slot cases back theirs: "anon" (private
 * anonymous, MADV_NOHUGEPAGE), "devmem" (/dev/mem MAP_SHARED over hidden RAM, at a PA congruent with
 * its IPA modulo a block; the hidden RAM of the blocks around it gets "S2VH" markers of the slot pages
 * those PAs would stand for) and "udmabuf" (the scattered udmabuf of the one-slot cases). Every page
 * gets the "S2VM" marker of its 4K index inside its slot. */
#define MAX_LSLOTS 8
#define MAX_LVMAS 8
#define LAYOUT_PORT_IPA 0xF0000000UL   /* the guest's port: slot 2 sits where the one-slot cases' port is */

struct lslot {
	uint64_t ipa, size;
	uint32_t flags;
	int nvma;
	char kind[MAX_LVMAS][16];
	uint64_t vsize[MAX_LVMAS];
	uint8_t *resv, *back;
	size_t resv_len;
};

static int parse_lslot(char *spec, struct lslot *ls)
{
	char *eq = strchr(spec, '='), *e, *save = NULL;
	if (!eq)
		return -1;
	*eq = 0;
	memset(ls, 0, sizeof *ls);
	ls->ipa = strtoull(spec, &e, 16);
	if (*e != ':')
		return -1;
	ls->size = strtoull(e + 1, &e, 16);
	if (*e != ':')
		return -1;
	ls->flags = (strstr(e + 1, "log") ? KVM_MEM_LOG_DIRTY_PAGES : 0) | (strstr(e + 1, "ro") ? KVM_MEM_READONLY : 0);
	uint64_t total = 0;
	for (char *v = strtok_r(eq + 1, "/", &save); v && ls->nvma < MAX_LVMAS; v = strtok_r(NULL, "/", &save)) {
		char *at = strchr(v, '@');
		if (!at)
			return -1;
		snprintf(ls->kind[ls->nvma], sizeof ls->kind[0], "%.*s", (int)(at - v), v);
		ls->vsize[ls->nvma] = strtoull(at + 1, NULL, 16);
		total += ls->vsize[ls->nvma++];
	}
	return total == ls->size && ls->nvma ? 0 : -1;
}

/* A block-aligned range of `size` bytes reserved PROT_NONE; *resv and *len say what to unmap later. */
static uint8_t *reserve(size_t size, uint8_t **resv, size_t *len)
{
	*len = size + TEST_SIZE;
	*resv = mmap(NULL, *len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*resv == MAP_FAILED) {
		*resv = NULL;
		return NULL;
	}
	return (uint8_t *)(((uintptr_t)*resv + TEST_SIZE - 1) & ~(TEST_SIZE - 1));
}

/* Map every VMA of the slot into its reservation. Returns 0, or -1 after a backing_error record. */
static int build_lslot(struct lslot *ls, uint64_t *devmem_next)
{
	ls->back = reserve(ls->size, &ls->resv, &ls->resv_len);
	if (!ls->back) {
		rec("@@C %s backing_error reserve %s", cur, err_name(errno));
		return -1;
	}
	uint64_t off = 0;
	for (int j = 0; j < ls->nvma; off += ls->vsize[j++]) {
		uint8_t *at = ls->back + off;
		size_t vs = ls->vsize[j];
		const char *k = ls->kind[j];
		if (!strcmp(k, "anon")) {
			if (mmap(at, vs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
				rec("@@C %s backing_error mmap %s", cur, err_name(errno));
				return -1;
			}
			madvise(at, vs, MADV_NOHUGEPAGE);
		} else if (!strcmp(k, "devmem")) {
			uint64_t in = off & (TEST_SIZE - 1);
			uint64_t blk = (*devmem_next + TEST_SIZE - 1) & ~(TEST_SIZE - 1);
			size_t span = (in + vs + TEST_SIZE - 1) & ~(TEST_SIZE - 1);
			uint8_t *r, *tmp = reserve(span, &r, &(size_t){0});
			if (!tmp || !map_devmem_at(tmp, span, blk, 1))
				return -1;
			for (size_t i = 0; i < span / SZ_4K; i++)
				*(volatile uint64_t *)(tmp + i * SZ_4K + 8) = MARK_HOST((off - in) / SZ_4K + i);
			munmap(r, span + TEST_SIZE);
			if (!map_devmem_at(at, vs, blk + in, 1))
				return -1;
			*devmem_next = blk + span;
		} else if (!strcmp(k, "udmabuf")) {
			if (!map_udmabuf_size(at, vs))
				return -1;
		} else {
			rec("@@C %s backing_error unknown %s", cur, k);
			return -1;
		}
		put_markers_from(at, vs, off / SZ_4K, 0);
	}
	return 0;
}

/* ---- the VM -------------------------------------------------------------------------------- */

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

static uint64_t core_reg(size_t off)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (off / sizeof(uint32_t));
}

static int get_reg(int vcpu, uint64_t id, uint64_t *v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)v };
	return ioctl(vcpu, KVM_GET_ONE_REG, &r);
}

static int set_reg(int vcpu, uint64_t id, uint64_t v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&v };
	return ioctl(vcpu, KVM_SET_ONE_REG, &r);
}

#define REG_PC  core_reg(offsetof(struct kvm_regs, regs.pc))
#define REG_X30 core_reg(offsetof(struct kvm_regs, regs.regs[30]))

enum { OP_R = 1, OP_W, OP_X, OP_ZVA, OP_LDP, OP_LDXR, OP_LDADD, OP_CIVAC, OP_EVENT };

static int op_kind(char c)
{
	const char *k = "rwxzpeac";
	const char *p = strchr(k, c);
	return p ? (int)(p - k) + 1 : strchr("URALlD", c) ? OP_EVENT : 0;
}

/* ---- host events between the guest's accesses ----------------------------------------------- */

/* A memslot the case registers: KVM slot id, IPA and size, flags, userspace range. */
struct slotdesc {
	int vm, gmem;
	uint32_t flags;
	uint8_t *back;
	const char *kind;
	uint32_t id;
	uint64_t ipa, size;
};

static int set_slot(struct slotdesc *sd, uint32_t flags, uint64_t size)
{
	if (sd->gmem >= 0) {
		struct s2v_region2 r2 = { .slot = sd->id, .flags = flags, .guest_phys_addr = sd->ipa,
			.memory_size = size, .userspace_addr = (uintptr_t)sd->back, .guest_memfd = sd->gmem };
		return ioctl(sd->vm, IOCTL_SET_MEMORY_REGION2, &r2) ? -errno : 0;
	}
	struct kvm_userspace_memory_region tr = { .slot = sd->id, .flags = flags, .guest_phys_addr = sd->ipa,
		.memory_size = size, .userspace_addr = (uintptr_t)sd->back };
	return ioctl(sd->vm, KVM_SET_USER_MEMORY_REGION, &tr) ? -errno : 0;
}

/* mmap(MAP_FIXED) over [at, at+len) of what the slot's backing maps there: the same object where it has
 * one to map again (the memfd at the same offset, /dev/mem at the same PA: the pages are the same, and a
 * memfd's new VMA merges with its neighbours), a fresh private anonymous or hugetlb mapping otherwise
 * (new pages, "S2VN" markers; the anonymous VMA merges with its neighbours once it has their flags). */
static int replace_range(struct slotdesc *sd, uint8_t *at, size_t len, size_t first4k)
{
	const char *k = sd->kind;
	void *p = MAP_FAILED;
	int fresh = 1;
	if (!strcmp(k, "anon") || !strcmp(k, "thp")) {
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED)
			madvise(p, len, strcmp(k, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	} else if (!strcmp(k, "hugetlb")) {
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0);
	} else if (!strcmp(k, "memfd")) {
		p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, memfd_fd, at - sd->back);
		fresh = 0;
	} else if (!strcmp(k, "devmem")) {
		/* The same physical range again: a new VMA, the same PFNs. */
		p = map_devmem_at(at, len, at - sd->back, 1);
		if (!p)
			return -EIO;
	} else {
		return -EOPNOTSUPP;
	}
	if (p == MAP_FAILED)
		return -errno;
	if (fresh)
		put_markers_from(p, len, first4k, 1);
	return 0;
}

/* Age [at, at+len) the way the host's own access tracking does: DAMON's virtual-address monitor,
 * started on this process for that range alone, one region per page, samples each region every
 * millisecond and makes the page of each sampled address old with damon_ptep_mkold(), whose MMU
 * notifier (mmu_notifier_clear_young(addr, addr + PAGE_SIZE)) ages the stage-2 range: the access flag
 * is cleared there. The sampled address is random inside its page, so KVM is asked about that page
 * and the next one (__kvm_handle_hva_range() rounds the end up); a PMD-mapped THP is aged from the
 * sampled address for HPAGE_PMD_SIZE. The kprobes record each range; the harness names the event by
 * their union. (Debian's kernels have no IDLE_PAGE_TRACKING, and MADV_PAGEOUT
 * reclaims without a reference check.) */
#define DAMON "/sys/kernel/mm/damon/admin/kdamonds"
static int damon_age(uint8_t *at, size_t len, int op)
{
	char b[64];
	int e;
	/* DAMON_STAT (on by default in Debian's configuration) runs its own kdamond; the sysfs interface
	 * refuses to start another while it runs. */
	write_file("/sys/module/damon_stat/parameters/enabled", "N", 0);
	if ((e = write_file(DAMON "/nr_kdamonds", "1", 0))) {
		rec("@@E %s 0 damon nr_kdamonds %s", cur, err_name(-e));
		return e;
	}
	write_file(DAMON "/0/contexts/nr_contexts", "1", 0);
	const char *c = DAMON "/0/contexts/0";
	char path[200];
#define CTX(x) (snprintf(path, sizeof path, "%s/%s", c, x), path)
	if ((e = write_file(CTX("operations"), "vaddr", 0)))
		return e;
	/* A sample every 5 ms, and no update of the target's regions from the process's mappings while it
	 * runs (damon_va_update() would widen them to the whole address space). */
	write_file(CTX("monitoring_attrs/intervals/sample_us"), "5000", 0);
	write_file(CTX("monitoring_attrs/intervals/aggr_us"), "100000", 0);
	write_file(CTX("monitoring_attrs/intervals/update_us"), "1000000000", 0);
	write_file(CTX("targets/nr_targets"), "1", 0);
	snprintf(b, sizeof b, "%d", getpid());
	write_file(CTX("targets/0/pid_target"), b, 0);
	/* One region per page, so that every page is sampled (DAMON samples one address per region;
	 * a single region over many pages would age a few of them in 50 ms). */
	size_t n = len / PAGE;
	snprintf(b, sizeof b, "%zu", n > 1000 ? n : 1000);
	write_file(CTX("monitoring_attrs/nr_regions/max"), b, 0);
	snprintf(b, sizeof b, "%zu", n);
	write_file(CTX("targets/0/regions/nr_regions"), b, 0);
	for (size_t i = 0; i < n; i++) {
		char rp[64];
		snprintf(rp, sizeof rp, "targets/0/regions/%zu/start", i);
		snprintf(b, sizeof b, "%lu", (unsigned long)(uintptr_t)(at + i * PAGE));
		write_file(CTX(rp), b, 0);
		snprintf(rp, sizeof rp, "targets/0/regions/%zu/end", i);
		snprintf(b, sizeof b, "%lu", (unsigned long)(uintptr_t)(at + (i + 1) * PAGE));
		write_file(CTX(rp), b, 0);
	}
#undef CTX
	/* DAMON ages a page only if it is on an LRU list (damon_get_folio(): folio_test_lru()); the pages
	 * faulted in last still sit in this CPU's LRU-add batch. MADV_COLD of a scratch page of our own calls
	 * lru_add_drain() first (madvise_cold()), which moves them onto the LRU. */
	static uint8_t *scratch;
	if (!scratch && (scratch = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) ==
	    MAP_FAILED)
		scratch = NULL;
	if (scratch) {
		scratch[0] = 1;
		madvise(scratch, PAGE, MADV_COLD);
	}
	drain_trace(op);
	aged_calls = 0;
	if ((e = write_file(DAMON "/0/state", "on", 0))) {
		rec("@@E %s 0 damon state %s", cur, err_name(-e));
		return e;
	}
	/* Until DAMON has sampled every region once (each sample asks KVM to age, if the host maps the page
	 * at all), or for 200 ms once it has begun; at most 1 s. Its thread may take a while to start under
	 * TCG: a fixed wait sometimes ended before any sample. */
	for (int i = 0; i < 500; i++) {
		usleep(2000);
		drain_trace(op);
		if ((size_t)aged_calls >= n || (aged_calls && i >= 100))
			break;
	}
	write_file(DAMON "/0/state", "off", 0);
	write_file(DAMON "/nr_kdamonds", "0", 0);
	return 0;
}

/* Perform event `c` ('U' unmap, 'R' replace, 'A' age, 'L' logging on, 'l' logging off, 'D' delete
 * the slot) on pages [page, page+npages) of the test slot. Returns 0 or -errno. */
static int host_event(struct slotdesc *sd, char c, unsigned long page, unsigned long npages, int op)
{
	uint8_t *at = sd->back ? sd->back + page * PAGE : NULL;
	size_t len = npages ? npages * PAGE : sd->size - page * PAGE;      /* 0: to the end of the slot */
	switch (c) {
	case 'U':
		return munmap(at, len) ? -errno : 0;
	case 'R':
		return replace_range(sd, at, len, page * PAGE / SZ_4K);
	case 'A':
		return damon_age(at, len, op);
	case 'L':
	case 'l': {
		/* The slot keeps its flags when KVM refuses the change: so does the VMM's copy, which a
		 * later change or the deletion passes again (check_memory_region_flags() checks them). */
		uint32_t flags = c == 'L' ? sd->flags | KVM_MEM_LOG_DIRTY_PAGES : sd->flags & ~KVM_MEM_LOG_DIRTY_PAGES;
		int r = set_slot(sd, flags, sd->size);
		if (!r)
			sd->flags = flags;
		return r;
	}
	case 'D':
		return set_slot(sd, sd->flags, 0);
	}
	return -EINVAL;
}

/* Offsets inside a page, so that DC ZVA and stores never clobber the RET and the marker. */
static uint64_t op_offset(int kind)
{
	switch (kind) {
	case OP_R: case OP_LDP: case OP_LDXR: return 8;
	case OP_W: return 0x10;
	case OP_LDADD: return 0x18;
	case OP_ZVA: return 0x800;
	case OP_CIVAC: return 0x840;
	default: return 0;
	}
}

static void run_case(char *line)
{
	char id[64], kind[32], slotf[32], vmf[32], gs1[16], ops[1024];
	int ipa_bits, tail = 0;
	if (sscanf(line, "%63s %31s %31s %31s %15s %d %1023s %n", id, kind, slotf, vmf, gs1, &ipa_bits, ops, &tail) < 7)
		return;
	snprintf(cur, sizeof cur, "%s", id);
	/* A layout case: its memslots' specs follow the operations. */
	struct lslot ls[MAX_LSLOTS];
	struct slotdesc lsd[MAX_LSLOTS];
	int nls = 0;
	uint64_t devmem_next = 0;
	if (!strcmp(kind, "layout")) {
		char *save = NULL;
		for (char *t = strtok_r(line + tail, " \n", &save); t && nls < MAX_LSLOTS; t = strtok_r(NULL, " \n", &save))
			if (parse_lslot(t, &ls[nls++])) {
				rec("@@C %s backing_error bad memslot spec %d", id, nls);
				return;
			}
	}
	uint64_t port = nls ? LAYOUT_PORT_IPA : PORT_IPA;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	rec("@@C %s begin %ld", id, ts.tv_sec * 1000 + ts.tv_nsec / 1000000);

	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, CAP_CACHEABLE_PFNMAP);
	rec("@@C %s cap_dev %d %s", id, r, err_name(r < 0 ? errno : 0));
	int max_ipa = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IPA_SIZE);
	if (ipa_bits > max_ipa) {
		rec("@@C %s unsupported IPA size %d > KVM_CAP_ARM_VM_IPA_SIZE %d", id, ipa_bits, max_ipa);
		return;
	}
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits));
	if (vm < 0) {
		rec("@@C %s vm_error %s", id, err_name(errno));
		return;
	}
	r = ioctl(vm, KVM_CHECK_EXTENSION, CAP_CACHEABLE_PFNMAP);
	rec("@@C %s cap_vm %d %s", id, r, err_name(r < 0 ? errno : 0));
	if (strstr(vmf, "mte")) {
		struct kvm_enable_cap c = { .cap = KVM_CAP_ARM_MTE };
		r = ioctl(vm, KVM_ENABLE_CAP, &c);
		rec("@@C %s enable_mte %s", id, err_name(r < 0 ? errno : 0));
	}
	if (strstr(vmf, "nisv")) {
		struct kvm_enable_cap c = { .cap = KVM_CAP_ARM_NISV_TO_USER };
		r = ioctl(vm, KVM_ENABLE_CAP, &c);
		rec("@@C %s enable_nisv %s", id, err_name(r < 0 ? errno : 0));
	}

	/* The code slot: the guest, its mailbox and its stage-1 tables. */
	uint8_t *code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(code, guest_start, guest_end - guest_start);
	uint64_t *mbox = (uint64_t *)(code + MBOX_OFF), *pt = (uint64_t *)(code + PT_OFF);
	mbox[0] = port;
	uint64_t attr = 1;                          /* MAIR index: 0 nGnRnE, 1 WB, 2 NC, 3 nGnRE */
	mbox[1] = strcmp(gs1, "off") != 0;
	if (!strcmp(gs1, "nc"))
		attr = 2;
	else if (!strcmp(gs1, "ngnrne"))
		attr = 0;
	/* The code slot sits in another top-level stage-2 entry than the test slot, so that the test
	 * slot's first fault finds the tables an empty VM would have (the faulting level is compared):
	 * at 256 MiB for the default 40-bit VM (its own level-1 entry with 4K pages, level-2 with 16K),
	 * in the upper half of the IPA space otherwise (those cases run with the guest's MMU off). */
	uint64_t code_ipa = ipa_bits == 40 ? CODE_IPA : 1UL << (ipa_bits - 1);
	mbox[2] = code_ipa + PT_OFF;
	mbox[5] = code_ipa >> 21;
	mbox[3] = 0x0444ff00UL;   /* attr0 00, attr1 ff, attr2 44, attr3 04 */
	mbox[4] = 25 | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 23) | (2UL << 32);
	pt[0] = 0x00000000UL | (1 << 2) | (3 << 8) | (1 << 10) | 1;          /* code: WB */
	pt[1] = 0x40000000UL | (attr << 2) | (3 << 8) | (1 << 10) | 1;       /* test slot */
	pt[2] = 0x80000000UL | (attr << 2) | (3 << 8) | (1 << 10) | 1;       /* no memslot */
	pt[3] = 0xC0000000UL | (0 << 2) | (1 << 10) | 1;                     /* port: Device */
	int nops = 0;
	uint64_t opipa[64];
	int opk[64], opslot[64];
	char opev[64];
	unsigned long evpage[64], evn[64];
	for (char *tok = strtok(ops, ","); tok && nops < 63; tok = strtok(NULL, ",")) {
		/* An access <kind>:<T|N><page>, or an event <U|R|A>:T<page>:<npages> or <L|l|D>; pages are the
		 * host's. */
		int k = op_kind(tok[0]);
		uint64_t ipa = 0;
		opev[nops] = 0;
		opslot[nops] = 0;
		if (k == OP_EVENT && tok[1] == ':' && tok[2] == 'S') {
			/* A memslot change naming its slot (a layout case): <L|l|D>:S<slot> */
			opev[nops] = tok[0];
			opslot[nops] = (int)strtoul(tok + 3, NULL, 10) - 1;
			evpage[nops] = 0;
			evn[nops] = 1;
			if (opslot[nops] < 0 || opslot[nops] >= nls)
				opslot[nops] = 0;
		} else if (k == OP_EVENT) {
			opev[nops] = tok[0];
			evpage[nops] = tok[1] == ':' ? strtoul(tok + 3, NULL, 10) : 0;
			char *n = tok[1] == ':' ? strchr(tok + 3, ':') : NULL;
			evn[nops] = n ? strtoul(n + 1, NULL, 10) : 1;
		} else if (tok[2] == 'S') {
			/* An access to memslot <slot> of a layout case: <kind>:S<slot>:<page> */
			char *e;
			unsigned long n = strtoul(tok + 3, &e, 10);
			ipa = (n >= 1 && (int)n <= nls ? ls[n - 1].ipa : NOSLOT_IPA) + strtoul(e + 1, NULL, 10) * PAGE +
			      op_offset(k);
		} else {
			uint64_t base = tok[2] == 'N' ? NOSLOT_IPA : TEST_IPA;
			ipa = base + strtoul(tok + 3, NULL, 10) * PAGE + op_offset(k);
		}
		opk[nops] = k;
		opipa[nops] = ipa;
		mbox[8 + 2 * nops] = k;
		mbox[9 + 2 * nops] = ipa;
		nops++;
	}
	mbox[8 + 2 * nops] = 0;
	void *remap_at = NULL, *back = NULL;
	int gmem = -1, vcpu = -1, msz = 0;
	struct kvm_run *run = NULL;
	struct slotdesc sd = { .vm = vm, .gmem = -1, .kind = kind, .id = 1, .ipa = TEST_IPA, .size = TEST_SIZE };
	struct kvm_userspace_memory_region cr = { .slot = 0, .guest_phys_addr = code_ipa,
		.memory_size = CODE_SIZE, .userspace_addr = (uintptr_t)code };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &cr)) {
		rec("@@C %s code_slot_error %s", id, err_name(errno));
		goto out;
	}

	if (nls) {
		/* Every VMA of every slot first, then registration in slot order, stopping at the first
		 * refusal as QEMU does (it aborts: "error registering slot"). */
		for (int i = 0; i < nls; i++)
			if (build_lslot(&ls[i], &devmem_next))
				goto out;
		for (int i = 0; i < nls; i++) {
			lsd[i] = (struct slotdesc){ .vm = vm, .gmem = -1, .kind = kind, .id = i + 1, .ipa = ls[i].ipa,
						    .size = ls[i].size, .flags = ls[i].flags, .back = ls[i].back };
			r = set_slot(&lsd[i], ls[i].flags, ls[i].size);
			rec("@@C %s memslot %d %s", id, i + 1, err_name(-r));
			drain_trace(0);
			if (r)
				goto out;
		}
	} else if (!strcmp(kind, "gmem")) {
		/* guest_memfd, mappable and shared with the host, so the VMM can write the markers. */
		int cap = ioctl(vm, KVM_CHECK_EXTENSION, CAP_GUEST_MEMFD);
		int gflags = ioctl(vm, KVM_CHECK_EXTENSION, CAP_GUEST_MEMFD_FLAGS);
		rec("@@C %s cap_guest_memfd %d %d", id, cap, gflags);
		if (cap <= 0 || gflags <= 0 || !(gflags & 1)) {
			rec("@@C %s unsupported KVM_CAP_GUEST_MEMFD=%d KVM_CAP_GUEST_MEMFD_FLAGS=%d", id, cap, gflags);
			goto out;
		}
		struct s2v_create_guest_memfd g = { .size = TEST_SIZE, .flags = (uint64_t)gflags & 3 };
		gmem = ioctl(vm, IOCTL_CREATE_GUEST_MEMFD, &g);
		if (gmem < 0) {
			rec("@@C %s unsupported KVM_CREATE_GUEST_MEMFD %s", id, err_name(errno));
			goto out;
		}
		back = mmap(aligned_hole(), TEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, gmem, 0);
		if (back == MAP_FAILED) {
			back = NULL;
			rec("@@C %s unsupported mmap(guest_memfd) %s", id, err_name(errno));
			goto out;
		}
		put_markers(back, TEST_SIZE);
		struct s2v_region2 r2 = { .slot = 1, .flags = MEM_GUEST_MEMFD, .guest_phys_addr = TEST_IPA,
			.memory_size = TEST_SIZE, .userspace_addr = (uintptr_t)back, .guest_memfd = gmem };
		r = ioctl(vm, IOCTL_SET_MEMORY_REGION2, &r2);
		rec("@@C %s reg %s", id, err_name(r ? errno : 0));
		sd.gmem = gmem;
		sd.flags = MEM_GUEST_MEMFD;
		sd.back = back;
		drain_trace(0);
		if (r)
			goto out;
	} else if (strcmp(kind, "none")) {
		int markers_done = 0;
		back = make_backing(kind, &remap_at, &markers_done);
		if (!back)
			goto out;
		if (!markers_done)
			put_markers(back, TEST_SIZE);
		uint32_t flags = (strstr(slotf, "log") ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
				 (strstr(slotf, "ro") ? KVM_MEM_READONLY : 0);
		struct kvm_userspace_memory_region tr = { .slot = 1, .flags = flags, .guest_phys_addr = TEST_IPA,
			.memory_size = TEST_SIZE, .userspace_addr = (uintptr_t)back };
		r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &tr);
		rec("@@C %s reg %s", id, err_name(r ? errno : 0));
		sd.flags = flags;
		sd.back = back;
		drain_trace(0);
		if (r)
			goto out;
		if (remap_at) {
			if (!map_devmem(remap_at, 1))
				goto out;
			put_markers(remap_at, TEST_SIZE);
		}
	}

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_vcpu_init init;
	if (vcpu < 0 || ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) || ioctl(vcpu, KVM_ARM_VCPU_INIT, &init)) {
		rec("@@C %s vcpu_error %s", id, err_name(errno));
		goto out;
	}
	if (dax_fd >= 0 && back) {
		page_count("before-run", "page0", back);
		page_count("before-run", "page1", (uint8_t *)back + PAGE);
	}
	msz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, msz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	set_reg(vcpu, REG_PC, code_ipa);
	set_reg(vcpu, core_reg(offsetof(struct kvm_regs, regs.regs[0])), code_ipa + MBOX_OFF);

	int op = 0;
	for (int exits = 0; exits < 400; exits++) {
		alarmed = 0;
		struct itimerval it = { .it_value = { .tv_sec = 3 } };
		setitimer(ITIMER_REAL, &it, NULL);
		r = ioctl(vcpu, KVM_RUN, 0);
		int e = errno;
		struct itimerval off = { 0 };
		setitimer(ITIMER_REAL, &off, NULL);
		if (r < 0) {
			drain_trace(op);
			rec("@@E %s %d run %s", id, op, alarmed ? "timeout" : err_name(e));
			if (alarmed || op == 0 || op > nops)
				break;
			/* Step over the access the kernel refused, as a VMM that gives up on it would. */
			uint64_t pc = 0, lr = 0;
			get_reg(vcpu, REG_PC, &pc);
			get_reg(vcpu, REG_X30, &lr);
			set_reg(vcpu, REG_PC, opk[op - 1] == OP_X && pc == (opipa[op - 1] & ~3UL) ? lr : pc + 4);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t a = run->mmio.phys_addr, v = 0;
			memcpy(&v, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
			if (a >= port && a < port + 64) {
				switch (a - port) {
				case 0:
					drain_trace(op);
					op = (int)v;
					if (opev[op - 1]) {
						rec("@@O %s %d %c %lu %lu", id, op, opev[op - 1], evpage[op - 1], evn[op - 1]);
						int e = host_event(nls ? &lsd[opslot[op - 1]] : &sd, opev[op - 1], evpage[op - 1],
								   evn[op - 1], op);
						drain_trace(op);
						rec("@@E %s %d event %s", id, op, err_name(-e));
					} else {
						rec("@@O %s %d %c %#lx", id, op, "?rwxzpeac"[opk[op - 1]], opipa[op - 1]);
					}
					break;
				case 8: rec("@@E %s %d esr %#lx", id, op, v); break;
				case 16: rec("@@E %s %d far %#lx", id, op, v); break;
				case 24: rec("@@E %s %d val %#lx", id, op, v); break;
				case 32:
					drain_trace(op);
					rec("@@C %s end %d", id, op);
					goto out;
				}
				continue;
			}
			drain_trace(op);
			rec("@@E %s %d mmio %#lx %s %u", id, op, a, run->mmio.is_write ? "w" : "r", run->mmio.len);
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0, sizeof run->mmio.data);
			continue;
		}
		drain_trace(op);
		if (run->exit_reason == KVM_EXIT_ARM_NISV) {
			rec("@@E %s %d nisv %#llx", id, op, (unsigned long long)run->arm_nisv.fault_ipa);
			uint64_t pc = 0;
			get_reg(vcpu, REG_PC, &pc);
			set_reg(vcpu, REG_PC, pc + 4);
			continue;
		}
		rec("@@E %s %d exit %u", id, op, run->exit_reason);
		break;
	}
	rec("@@C %s end %d", id, op);
out:
	if (dax_fd >= 0 && back) {
		/* Who holds the fsdax pages now: the block's head page and the page the guest faulted. */
		page_count("after-run", "page0", back);
		page_count("after-run", "page1", (uint8_t *)back + PAGE);
	}
	/* The vCPU holds the VM: both go now, not at the probe's exit. */
	if (run && run != MAP_FAILED)
		munmap(run, msz);
	if (vcpu >= 0)
		close(vcpu);
	if (gmem >= 0)
		close(gmem);
	close(vm);
	munmap(code, CODE_SIZE);
	if (memfd_fd >= 0) {
		close(memfd_fd);
		memfd_fd = -1;
	}
	if (dax_fd >= 0 && back) {
		page_count("after-vm", "page0", back);
		page_count("after-vm", "page1", (uint8_t *)back + PAGE);
	}
	if (back)
		munmap(back, TEST_SIZE);
	for (int i = 0; i < nls; i++)
		if (ls[i].resv)
			munmap(ls[i].resv, ls[i].resv_len);
	if (dax_fd >= 0) {
		/* Truncating waits in dax_layout_busy_page() until no page of the file has a reference
		 * beyond its mapping; a leaked one makes it wait for ever (bounded here by the alarm). */
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		alarmed = 0;
		struct itimerval it = { .it_value = { .tv_sec = 10 } };
		setitimer(ITIMER_REAL, &it, NULL);
		int r = ftruncate(dax_fd, 0);
		int e = errno;
		struct itimerval off = { 0 };
		setitimer(ITIMER_REAL, &off, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rec("@@E %s 0 truncate %s alarmed=%d ms=%ld", id, err_name(r ? e : 0), (int)alarmed,
		    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		close(dax_fd);
		dax_fd = -1;
	}
}

/* The host CPU's ID_AA64MMFR1_EL1, as a vCPU's reset value: KVM resets the register to the host's
 * sanitised value (kvm_read_sanitised_id_reg() -> read_sanitised_ftr_reg(); HAFDBS is limited only for
 * a nested guest), where a userspace MRS would read HAFDBS as 0 (a hidden field). HAFDBS (bits [3:0])
 * says whether the CPU updates the access flag itself: 1 AF, 2 AF and dirty state, 3 also table AF. */
static void report_id_regs(void)
{
	uint64_t v = 0;
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	int vcpu = vm < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_vcpu_init init;
	if (vcpu < 0 || ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) || ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) ||
	    get_reg(vcpu, ARM64_SYS_REG(3, 0, 0, 7, 1), &v))
		rec("@@H id_aa64mmfr1_el1 error %s", err_name(errno));
	else
		rec("@@H id_aa64mmfr1_el1 %#lx", (unsigned long)v);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
}

/* A private /dev/mem mapping (a COW VM_PFNMAP) is run in a child process: the v3 patch refuses it with
 * the mmap lock still held, so the child's next munmap() waits for ever. The parent gives it 3 s,
 * says so, and goes on with the next case (the child stays blocked; the kernel cannot free its mm). */
static void run_case_guarded(char *line)
{
	char id[64], kind[32];
	if (sscanf(line, "%63s %31s", id, kind) != 2 || strcmp(kind, "devmemp")) {
		run_case(line);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		run_case(line);
		fflush(stdout);
		_exit(0);
	}
	for (int i = 0; i < 30; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	rec("@@C %s hung the VMM for 3 s after its last access (its munmap() never returned)", id);
	kill(pid, SIGKILL);
}

int main(void)
{
	PAGE = sysconf(_SC_PAGESIZE);
	TEST_SIZE = PAGE * (PAGE / 8);            /* what one level-2 entry maps */
	rec("@@H page_size %lu block %lu", PAGE, TEST_SIZE);
	/* Enough huge pages for the hugetlb cases (one block each) and a udmabuf of TEST_SIZE / PAGE items. */
	write_file("/proc/sys/vm/nr_hugepages", PAGE == SZ_4K ? "16" : "4", 0);
	if (TEST_SIZE / PAGE > 1024)
		write_file("/sys/module/udmabuf/parameters/list_limit", "4096", 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		rec("@@K nokvm %s", err_name(errno));
		return 1;
	}
	rec("@@H max_ipa %d", ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IPA_SIZE));
	report_id_regs();
	setup_kprobes();
	char line[2048];
	while (fgets(line, sizeof line, stdin))
		if (line[0] != '#' && line[0] != '\n')
			run_case_guarded(line);
	rec("@@K done");
	return 0;
}
