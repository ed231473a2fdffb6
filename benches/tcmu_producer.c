/*
 * The kernel's half of a TCMU ring, in C, for benches/tcmu_ring.py.
 *
 * tests/support/tcmu_kernel.py plays the kernel in Python, which is right for tests
 * (every entry checked, tampering, TMRs) but costs some 20 us of interpreter time per
 * command that the real kernel does not spend.  At queue depth 1 that time is in
 * every command's path, so the benchmark would charge it to our ring handling.  This
 * program does what target_core_user.c's queue_cmd_ring() and
 * tcmu_handle_completions() do for the benchmark's commands, at the kernel's speed:
 * data-area blocks taken lowest-free-first, the payload copied in (as the kernel
 * copies it from the initiator's pages), the entry written with the kernel's own
 * struct tcmu_cmd_entry (<linux/target_core_user.h>), a PAD entry at the end of the
 * ring, cmd_head published, the doorbell rung; completions reaped from cmd_tail.
 *
 *   tcmu_producer MAP MAPSIZE SOCKFD RECORD
 *
 * MAP is the shared file laid out as the kernel lays out the uio map (mailbox already
 * initialised), SOCKFD the kernel's end of the doorbell socketpair.  Each line
 * "COUNT DEPTH" on standard input queues COUNT WRITE(6) commands of RECORD bytes with
 * up to DEPTH in flight and answers "SECONDS NOT_GOOD"; end of input ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#define __LINUX_UIO_H          /* <sys/uio.h> has declared the same struct iovec */
#include <linux/target_core_user.h>

#define BLOCK 4096u
#define ROUND8(x) (((x) + 7u) & ~7u)
#define PAYLOADS 16

static uint8_t *map;
static struct tcmu_mailbox *mb;
static uint32_t cmdr_size, head, last_cleaned;
static size_t data_off, nblocks;
static uint8_t *used;                       /* one byte per data-area block */
static struct { size_t first, count; int busy; } inflight[65536];
static uint16_t next_id = 1;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static size_t ring_free(void)
{
	return cmdr_size - (head - last_cleaned + cmdr_size) % cmdr_size - 1;
}

/* Lowest free run of n blocks (the benchmark's commands are all one size, so the
 * kernel's block-by-block allocation lands on one contiguous run, one iovec). */
static long alloc_blocks(size_t n)
{
	for (size_t j = 0; j + n <= nblocks; j++) {
		size_t k = 0;
		while (k < n && !used[j + k])
			k++;
		if (k == n) {
			memset(used + j, 1, n);
			return (long)j;
		}
		j += k;
	}
	return -1;
}

static int submit(const uint8_t *payload, uint32_t len)
{
	uint8_t cdb[6] = {0x0A, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0};
	size_t nb = (len + BLOCK - 1) / BLOCK;
	size_t base = offsetof(struct tcmu_cmd_entry, req.iov) + sizeof(struct iovec);
	if (base < sizeof(struct tcmu_cmd_entry))
		base = sizeof(struct tcmu_cmd_entry);
	base = ROUND8(base);
	uint32_t size = ROUND8(base + sizeof(cdb));
	uint32_t to_end = cmdr_size - head;
	uint32_t pad = to_end < size ? to_end : 0;
	if (size + pad > ring_free())
		return -1;
	long first = alloc_blocks(nb);
	if (first < 0)
		return -1;
	uint16_t id = next_id;
	next_id = next_id % 0xFFFF + 1;
	size_t data = data_off + (size_t)first * BLOCK;
	memcpy(map + data, payload, len);    /* the kernel's copy from the initiator's pages */
	if (pad) {
		struct tcmu_cmd_entry_hdr *h = (void *)(map + mb->cmdr_off + head);
		h->len_op = pad | TCMU_OP_PAD;
		h->cmd_id = 0;
		h->kflags = h->uflags = 0;
		head = 0;
	}
	struct tcmu_cmd_entry *e = (void *)(map + mb->cmdr_off + head);
	memset(e, 0, size);
	e->hdr.len_op = size | TCMU_OP_CMD;
	e->hdr.cmd_id = id;
	e->req.iov_cnt = 1;
	e->req.iov[0].iov_base = (void *)data;       /* an offset from the start of the map */
	e->req.iov[0].iov_len = len;
	e->req.cdb_off = (uint8_t *)e - map + base;
	memcpy(map + e->req.cdb_off, cdb, sizeof(cdb));
	inflight[id].first = (size_t)first;
	inflight[id].count = nb;
	inflight[id].busy = 1;
	head = (head + size) % cmdr_size;
	__atomic_store_n(&mb->cmd_head, head, __ATOMIC_RELEASE);
	return 0;
}

static int reap(int *bad)
{
	uint32_t tail = __atomic_load_n(&mb->cmd_tail, __ATOMIC_ACQUIRE);
	int done = 0;
	while (last_cleaned != tail) {
		struct tcmu_cmd_entry *e = (void *)(map + mb->cmdr_off + last_cleaned);
		uint32_t op = e->hdr.len_op & TCMU_OP_MASK;
		if (op == TCMU_OP_CMD) {
			uint16_t id = e->hdr.cmd_id;
			if (!inflight[id].busy) {
				fprintf(stderr, "completion of command %u that is not in flight\n", id);
				exit(2);
			}
			if (e->rsp.scsi_status != 0)
				(*bad)++;
			memset(used + inflight[id].first, 0, inflight[id].count);
			inflight[id].busy = 0;
			done++;
		}
		last_cleaned = (last_cleaned + (e->hdr.len_op & ~TCMU_OP_MASK)) % cmdr_size;
	}
	return done;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s MAP MAPSIZE SOCKFD RECORD\n", argv[0]);
		return 2;
	}
	size_t size = strtoull(argv[2], NULL, 10);
	int sock = atoi(argv[3]);
	uint32_t record = strtoul(argv[4], NULL, 10);
	int fd = open(argv[1], O_RDWR);
	if (fd < 0)
		die("open");
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	close(fd);
	mb = (struct tcmu_mailbox *)map;
	if (mb->version != TCMU_MAILBOX_VERSION)
		return fprintf(stderr, "not a TCMU v2 mailbox\n"), 2;
	cmdr_size = mb->cmdr_size;
	head = mb->cmd_head;
	last_cleaned = mb->cmd_tail;
	data_off = mb->cmdr_off + cmdr_size;
	nblocks = (size - data_off) / BLOCK;
	used = calloc(nblocks, 1);
	uint8_t *payloads[PAYLOADS];
	int rnd = open("/dev/urandom", O_RDONLY);
	for (int i = 0; i < PAYLOADS; i++) {
		payloads[i] = malloc(record);
		if (!payloads[i] || read(rnd, payloads[i], record) != (ssize_t)record)
			die("payload");
	}
	close(rnd);

	long count, depth;
	while (scanf("%ld %ld", &count, &depth) == 2) {
		long queued = 0, done = 0, in_flight = 0;
		int bad = 0;
		uint32_t kick = 1;
		char drain[65536];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (done < count) {
			while (queued < count && in_flight < depth) {
				if (submit(payloads[queued % PAYLOADS], record) < 0)
					break;
				queued++;
				in_flight++;
				if (write(sock, &kick, sizeof(kick)) < 0 && errno != EAGAIN)
					die("doorbell");
			}
			int got = reap(&bad);
			while (!got) {
				ssize_t n = read(sock, drain, sizeof(drain));
				if (n == 0)
					return fprintf(stderr, "userspace closed the doorbell\n"), 2;
				if (n < 0 && errno != EINTR)
					die("doorbell");
				got = reap(&bad);
			}
			done += got;
			in_flight -= got;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%.9f %d\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, bad);
		fflush(stdout);
	}
	return 0;
}
