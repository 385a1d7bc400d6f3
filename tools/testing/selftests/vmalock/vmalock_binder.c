// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_binder: binder transactions whose buffers span many pages, so
 * that binder installs pages in the receiver's mapping (C binder:
 * binder_page_insert(); Rust Binder: ShrinkablePageRange::use_page_slow()),
 * then gives them back through its shrinker (C: binder_alloc_free_page();
 * Rust: free_page() in drivers/android/binder/page_range.rs), driven
 * through the shrinker's debugfs "scan" file. No libbinder: the protocol
 * is spoken with BINDER_WRITE_READ.
 *
 * The test process is the server: it mounts its own binderfs, becomes the
 * context manager of a new device, maps the buffer area and runs a looper
 * thread that checks each transaction's payload and replies with a payload
 * of its own. A forked client opens the same device and sends what the
 * test asks for over a pipe. Pages are installed into the server's mapping
 * by the client's thread (binder_transaction() allocates the target's
 * buffer), so holding the server's locks from another server thread (the
 * vmalock module's HOLD ioctls) makes the installation meet a VMA writer:
 *
 *  - with the binder VMA write-locked (vma_start_write(), as mprotect() and
 *    munmap() do), lock_vma_under_rcu() fails and vma_start_read_unlocked()
 *    takes its slow path: the transaction completes only after the writer
 *    let go (binder.insert_waits_for_vma_writer counts these slow-path
 *    insertions);
 *  - with only the mmap write lock held, the per-VMA lock works and the
 *    transaction completes while the writer still holds it: on this series
 *    also on SMP=n kernels (stock SMP=n kernels had no per-VMA locks and
 *    waited in the mmap_lock fallback);
 *  - the shrinker never waits: with the VMA write-locked it skips the
 *    server's pages and frees them once the writer is gone.
 *
 * Under fault injection (/proc/thread-self/fail-nth) both sides are swept:
 * the client's BC_TRANSACTION (transaction_fault_injection) and the
 * server's BC_REPLY, which installs the reply's pages in the client's
 * mapping from the server's thread (reply_fault_injection).
 *
 * Free pages stay on binder's LRU until the shrinker frees them (counted
 * by its debugfs "count" file), so every test knows how many pages the
 * server and the client gave back. After both processes exit the LRU is
 * empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/android/binder.h>
#include <linux/android/binderfs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmalock_lib.h"
#include "kselftest_harness.h"

#define MAP_PAGES	256		/* each process's binder mapping */
#define TXN_MAX_PAGES	96		/* largest payload */
#define HOLD_MS		600
#define SHRINKER_GLOB	"/sys/kernel/debug/shrinker/android-binder-*"
#define PAYLOAD_MAGIC	0x766c62696e646572ULL	/* "vlbinder" */

#define CODE_TXN	1
#define CODE_QUIT	2

/* What the client is asked to do, over the command pipe. */
enum { OP_TXN = 1, OP_EXIT = 2 };
struct cmd {
	uint32_t op;
	uint32_t pages;		/* payload: pages * VL_PAGE bytes (0: 64 bytes) */
	uint32_t reply_pages;	/* asked of the server, same encoding */
	uint32_t code;
	uint64_t seed;
	uint32_t nth;		/* fail the nth fault-injection point (0: none) */
	uint32_t pad;
};

/* What the client did, over the result pipe. */
struct result {
	int32_t status;		/* 0, or -errno / a BR_* failure, see txn() */
	uint32_t reply_bad;	/* reply words that did not match */
	uint32_t server_bad;	/* payload words the server found wrong */
	uint16_t injected;	/* cmd.nth: the point was reached and failed */
	uint16_t replied;	/* a BR_REPLY arrived (also when status != 0) */
	uint32_t stale;		/* outcomes of an earlier failed call read first */
	uint32_t late;		/* the reply came after the ioctl that sent it failed */
	uint64_t start_ns;	/* CLOCK_MONOTONIC, just before BC_TRANSACTION */
	uint64_t end_ns;	/* just after BR_REPLY arrived */
};

/* The head of every payload and every reply. */
struct payload {
	uint64_t magic;
	uint64_t seed;
	uint32_t reply_pages;	/* transaction: the reply's size */
	uint32_t bad;		/* reply: words of the transaction that were wrong */
};

static size_t payload_len(uint32_t pages)
{
	return pages ? pages * VL_PAGE : 64;
}

/* The words after the head hold vl_pattern(seed, i). */
static void fill_payload(void *buf, size_t len, uint64_t seed, uint32_t reply_pages)
{
	struct payload *p = buf;

	vl_fill_pattern(buf, len, seed);
	p->magic = PAYLOAD_MAGIC;
	p->seed = seed;
	p->reply_pages = reply_pages;
	p->bad = 0;
}

/* Number of wrong words (head included). */
static uint32_t check_payload(const void *buf, size_t len, uint64_t seed)
{
	const struct payload *p = buf;
	const uint64_t *w = buf;
	uint32_t bad = 0;
	size_t i;

	if (len < sizeof(*p))
		return 1;
	if (p->magic != PAYLOAD_MAGIC || p->seed != seed)
		bad++;
	for (i = sizeof(*p) / 8; i < len / 8; i++)
		bad += w[i] != vl_pattern(seed, i);
	return bad;
}

/* A binder device of our own, in a binderfs of our own. */
struct bdev {
	char mnt[64];
	char path[96];
	bool mounted;
};

static int bdev_create(struct bdev *d)
{
	struct binderfs_device dev = { .name = "vmalock" };
	char ctl[96];
	int fd, ret;

	snprintf(d->mnt, sizeof(d->mnt), "/tmp/vl-binderfs-XXXXXX");
	if (!mkdtemp(d->mnt))
		return -errno;
	if (mount(NULL, d->mnt, "binder", 0, NULL))
		return -errno;
	d->mounted = true;
	snprintf(ctl, sizeof(ctl), "%s/binder-control", d->mnt);
	fd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, BINDER_CTL_ADD, &dev) ? -errno : 0;
	close(fd);
	snprintf(d->path, sizeof(d->path), "%s/vmalock", d->mnt);
	return ret;
}

static void bdev_destroy(struct bdev *d)
{
	if (d->mounted)
		umount2(d->mnt, MNT_DETACH);
	d->mounted = false;
	rmdir(d->mnt);
}

/* An open binder device with its buffer mapped. */
struct bproc {
	int fd;
	char *map;
};

static int bproc_open(struct bproc *b, const char *path)
{
	b->fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	b->map = mmap(NULL, MAP_PAGES * VL_PAGE, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (b->map == MAP_FAILED)
		return -errno;
	return 0;
}

/*
 * One BINDER_WRITE_READ. *written gets the bytes of wbuf binder consumed,
 * also when the ioctl fails (binder copies the struct back then too,
 * unless that copy is what failed).
 */
static int bwr_w(int fd, void *wbuf, size_t wlen, void *rbuf, size_t rlen, size_t *consumed,
		 size_t *written)
{
	struct binder_write_read wr = {
		.write_buffer = (uintptr_t)wbuf,
		.write_size = wlen,
		.read_buffer = (uintptr_t)rbuf,
		.read_size = rlen,
	};
	int ret = ioctl(fd, BINDER_WRITE_READ, &wr) ? -errno : 0;

	if (written)
		*written = wr.write_consumed;
	if (consumed && !ret)
		*consumed = wr.read_consumed;
	return ret;
}

static int bwr(int fd, void *wbuf, size_t wlen, void *rbuf, size_t rlen, size_t *consumed)
{
	return bwr_w(fd, wbuf, wlen, rbuf, rlen, consumed, NULL);
}

struct free_cmd {
	uint32_t cmd;
	binder_uintptr_t ptr;
} __attribute__((packed));

struct txn_cmd {
	uint32_t cmd;
	struct binder_transaction_data tr;
} __attribute__((packed));

/*
 * Parse a read buffer: returns the BR_TRANSACTION or BR_REPLY found (its
 * data in *tr), 0 if none, -2 for BR_FAILED_REPLY, -3 for BR_ERROR, -4
 * for BR_DEAD_REPLY or BR_FROZEN_REPLY (not errnos: see txn()).
 */
static long parse(const char *buf, size_t len, struct binder_transaction_data *tr)
{
	size_t off = 0;

	while (off + sizeof(uint32_t) <= len) {
		uint32_t cmd;

		memcpy(&cmd, buf + off, sizeof(cmd));
		off += sizeof(cmd);
		switch (cmd) {
		case BR_TRANSACTION:
		case BR_REPLY:
			memcpy(tr, buf + off, sizeof(*tr));
			return cmd;
		case BR_FAILED_REPLY:
			return -2;
		case BR_DEAD_REPLY:
		case BR_FROZEN_REPLY:
			return -4;
		case BR_ERROR:
			return -3;
		default:
			break;
		}
		off += _IOC_SIZE(cmd);
	}
	return 0;
}

/* Status codes of struct result beyond -errno. */
#define ST_FAILED_REPLY	(-10000)
#define ST_ERROR	(-10001)
#define ST_BAD_REPLY	(-10002)
#define ST_DEAD_REPLY	(-10003)	/* BR_DEAD_REPLY: the target cannot take it */

/*
 * Send one transaction to the context manager and wait for the reply.
 * With c->nth, the nth fault-injection point of the client's thread from
 * the BC_TRANSACTION on, until the reply has been read, fails. The ioctl
 * can then fail (EFAULT, ENOMEM) before anything was sent, or after the
 * reply was written to the read buffer (copying the binder_write_read
 * back failed): the read buffer is zeroed before each read and parsed
 * whole on an error, so such a reply is still seen and freed. A reply that
 * an ioctl did not return (it failed after binder had queued it) is read
 * by the next call: it is recognised by its seed, checked, and counted in
 * r->stale.
 */
static void txn(int fd, int nth, const struct cmd *c, char *sendbuf, struct result *r)
{
	static uint64_t pending_seed;
	static bool pending;
	size_t len = payload_len(c->pages), consumed = 0, written = 0;
	struct binder_transaction_data tr;
	struct txn_cmd t = { .cmd = BC_TRANSACTION };
	const struct payload *p;
	char rbuf[512];
	long got = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	fill_payload(sendbuf, len, c->seed, c->reply_pages);
	t.tr.target.handle = 0;
	t.tr.code = c->code;
	t.tr.data_size = len;
	t.tr.data.ptr.buffer = (uintptr_t)sendbuf;
	memset(rbuf, 0, sizeof(rbuf));
	/* No system call between arming and the ioctl (clock_gettime() may be one). */
	r->start_ns = vl_now_ns();
	if (c->nth && vl_nth_arm(nth, c->nth)) {
		r->status = -EIO;
		return;
	}
	ret = bwr_w(fd, &t, sizeof(t), rbuf, sizeof(rbuf), &consumed, &written);
	for (;;) {
		got = parse(rbuf, ret ? sizeof(rbuf) : consumed, &tr);
		p = (const void *)(uintptr_t)tr.data.ptr.buffer;
		if (pending && !ret && got == BR_REPLY && tr.data_size >= sizeof(*p) &&
		    p->seed == ~pending_seed) {
			/* The earlier call's reply. */
			struct free_cmd f = { BC_FREE_BUFFER, tr.data.ptr.buffer };

			pending = false;
			r->stale++;
			r->reply_bad += check_payload(p, tr.data_size, ~pending_seed);
			bwr(fd, &f, sizeof(f), NULL, 0, NULL);
			got = 0;
		}
		if (got || ret)
			break;
		memset(rbuf, 0, sizeof(rbuf));
		ret = bwr(fd, NULL, 0, rbuf, sizeof(rbuf), &consumed);
	}
	if (c->nth)
		r->injected = vl_nth_injected(nth);
	/*
	 * The ioctl failed after binder had taken the BC_TRANSACTION (Rust
	 * Binder can fail writing BR_NOOP, for one): the transaction is on
	 * its way, and a new one before its reply would be refused. Read,
	 * without injection, until its outcome arrives.
	 */
	if (ret && written == sizeof(t) && !got) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rret = 0;

		/* Bounded: if binder dropped the outcome, the next call copes. */
		while (!rret && !got && poll(&pfd, 1, 5000) == 1) {
			memset(rbuf, 0, sizeof(rbuf));
			rret = bwr(fd, NULL, 0, rbuf, sizeof(rbuf), &consumed);
			if (!rret)
				got = parse(rbuf, consumed, &tr);
		}
		if (got == BR_REPLY)
			r->late = 1;
	}
	r->end_ns = vl_now_ns();
	/*
	 * A failed ioctl may have written BR_REPLY and then failed to copy the
	 * transaction data after it (binder then freed the reply itself): the
	 * zeroed buffer shows that as a null buffer pointer.
	 */
	if (ret && got == BR_REPLY && !tr.data.ptr.buffer)
		got = 0;
	if (got == BR_REPLY) {
		struct free_cmd f = { BC_FREE_BUFFER, tr.data.ptr.buffer };
		int fret;

		r->replied = 1;
		if (c->code == CODE_TXN && tr.data_size != payload_len(c->reply_pages)) {
			r->status = ST_BAD_REPLY;
		} else if (c->code == CODE_TXN) {
			r->server_bad = p->bad;
			r->reply_bad += check_payload(p, tr.data_size, ~c->seed);
		}
		fret = bwr(fd, &f, sizeof(f), NULL, 0, NULL);
		if (fret && !r->status)
			r->status = fret;
	}
	if (ret)
		r->status = ret;
	else if (got == -2)
		r->status = ST_FAILED_REPLY;
	else if (got == -4)
		r->status = ST_DEAD_REPLY;
	else if (got != BR_REPLY)
		r->status = ST_ERROR;
	/* Failed before its reply was read: it may still come. */
	if (r->status && !r->replied && got != -2 && got != -4) {
		pending = true;
		pending_seed = c->seed;
	}
}

/* The client: runs commands from @in, answers on @out. Never returns. */
static void client_main(const char *path, int in, int out)
{
	char *sendbuf = malloc(TXN_MAX_PAGES * VL_PAGE);
	struct bproc b;
	struct result r;
	int nth = vl_nth_open();
	struct cmd c;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = sendbuf ? bproc_open(&b, path) : -ENOMEM;
	r.status = ret;
	if (write(out, &r, sizeof(r)) != sizeof(r) || ret)
		_exit(1);
	while (read(in, &c, sizeof(c)) == sizeof(c) && c.op == OP_TXN) {
		txn(b.fd, nth, &c, sendbuf, &r);
		if (write(out, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

/* Counters of the server's looper thread. */
struct server_stats {
	volatile int stop;	/* set by the teardown before it signals the looper */
	uint64_t txns;
	uint64_t bad_txns;	/* payloads with a wrong word */
	int err;		/* first error of the looper, -errno */
	/*
	 * Fault injection in the server's BC_REPLY: the test sets reply_nth
	 * (0: none) before it asks for a transaction; the looper arms its own
	 * fail-nth for the BC_REPLY of the next CODE_TXN, records what
	 * happened, then bumps reply_seq (release).
	 */
	volatile uint32_t reply_nth;
	uint32_t reply_seq;
	bool reply_injected;
	int reply_ret;		/* the armed BC_REPLY ioctl */
	int reply_outcome;	/* what binder queued for it, see reply_outcome() */
	bool reply_resent;	/* binder did not take it: sent again */
	int reply_resent_ret;
	int reply_resent_outcome;
};

FIXTURE(binder) {
	struct bdev dev;
	struct bproc srv;
	char shrinker[256];
	char *reply;		/* the server's reply payloads, pre-faulted */
	int vl_fd;		/* /dev/vmalock, for the HOLD ioctls */
	pthread_t looper;
	bool looping;
	struct server_stats st;
	pid_t client;
	int cmd_fd, res_fd;
};

static int client_txn(FIXTURE_DATA(binder) *self, uint32_t code, uint32_t pages,
		      uint32_t reply_pages, uint64_t seed, struct result *r);

/*
 * The outcome binder queued on this thread for its last BC_REPLY, read
 * without blocking: 1 BR_TRANSACTION_COMPLETE (binder took the reply: the
 * client gets it, or BR_FAILED_REPLY if building it failed), -2
 * BR_FAILED_REPLY (binder did not take it: the transaction is still owed
 * a reply), 0 nothing (the ioctl failed before binder saw the command).
 */
static int reply_outcome(int fd)
{
	int fl = fcntl(fd, F_GETFL), ret, out = 0;
	uint32_t rbuf[32] = { 0 };
	size_t consumed = 0, off;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	ret = bwr(fd, NULL, 0, rbuf, sizeof(rbuf), &consumed);
	fcntl(fd, F_SETFL, fl);
	if (ret)
		return ret == -EAGAIN ? 0 : ret;
	for (off = 0; off + sizeof(uint32_t) <= consumed; ) {
		uint32_t cmd = rbuf[off / sizeof(uint32_t)];

		if (cmd == BR_TRANSACTION_COMPLETE)
			out = 1;
		else if (cmd == BR_FAILED_REPLY)
			out = -2;
		off += sizeof(uint32_t) + _IOC_SIZE(cmd);
	}
	return out;
}

/*
 * The server's reply under fault injection (see reply_fault_injection):
 * free the transaction's buffer, then send the BC_REPLY alone with the
 * nth point of this thread armed, and read what binder made of it. Unless
 * binder took the reply (BR_TRANSACTION_COMPLETE), it is still owed: send
 * it again, once, without injection. Stock C binder allocates its
 * transaction before it takes the reply off the thread's stack, so when
 * that allocation fails the server gets BR_FAILED_REPLY and the client
 * nothing yet; a server that did not resend would leave its client
 * waiting for ever.
 */
static int reply_nth(FIXTURE_DATA(binder) *self, int nth, binder_uintptr_t buffer,
		     struct txn_cmd *reply)
{
	struct free_cmd f = { BC_FREE_BUFFER, buffer };
	int ret;

	ret = bwr(self->srv.fd, &f, sizeof(f), NULL, 0, NULL);
	if (ret)
		return ret;
	self->st.reply_resent_ret = 0;
	self->st.reply_resent_outcome = 0;
	ret = vl_nth_arm(nth, self->st.reply_nth);
	if (ret)
		return ret;
	self->st.reply_ret = bwr(self->srv.fd, reply, sizeof(*reply), NULL, 0, NULL);
	self->st.reply_injected = vl_nth_injected(nth);
	self->st.reply_outcome = reply_outcome(self->srv.fd);
	self->st.reply_resent = self->st.reply_outcome != 1;
	if (self->st.reply_resent) {
		self->st.reply_resent_ret = bwr(self->srv.fd, reply, sizeof(*reply), NULL, 0,
						NULL);
		self->st.reply_resent_outcome = reply_outcome(self->srv.fd);
	}
	self->st.reply_nth = 0;
	__atomic_add_fetch(&self->st.reply_seq, 1, __ATOMIC_RELEASE);
	return 0;
}

static void *looper_main(void *arg)
{
	FIXTURE_DATA(binder) *self = arg;
	uint32_t enter = BC_ENTER_LOOPER;
	int nth = vl_nth_open();	/* this thread's */
	char rbuf[512];
	size_t consumed = 0;
	int ret;

	ret = nth < 0 ? -errno : bwr(self->srv.fd, &enter, sizeof(enter), NULL, 0, NULL);
	while (!ret) {
		struct binder_transaction_data tr;
		struct {
			struct free_cmd f;
			struct txn_cmd t;
		} __attribute__((packed)) w = {
			.f.cmd = BC_FREE_BUFFER,
			.t.cmd = BC_REPLY,
		};
		const struct payload *p;
		uint32_t reply_pages = 0, bad = 0;
		long got;

		ret = bwr(self->srv.fd, NULL, 0, rbuf, sizeof(rbuf), &consumed);
		if (ret == -EINTR && !self->st.stop) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		got = parse(rbuf, consumed, &tr);
		if (got != BR_TRANSACTION)
			continue;
		p = (const void *)(uintptr_t)tr.data.ptr.buffer;
		if (tr.code == CODE_TXN) {
			bad = check_payload(p, tr.data_size, p->seed);
			reply_pages = p->reply_pages;
			if (reply_pages > TXN_MAX_PAGES)
				reply_pages = 0;
			fill_payload(self->reply, payload_len(reply_pages), ~p->seed, 0);
			((struct payload *)self->reply)->bad = bad;
			__atomic_add_fetch(&self->st.txns, 1, __ATOMIC_RELAXED);
			if (bad)
				__atomic_add_fetch(&self->st.bad_txns, 1, __ATOMIC_RELAXED);
		}
		/* Free the transaction's buffer: its pages go to binder's LRU. */
		w.f.ptr = tr.data.ptr.buffer;
		w.t.tr.data_size = payload_len(reply_pages);
		w.t.tr.data.ptr.buffer = (uintptr_t)self->reply;
		if (tr.code == CODE_TXN && self->st.reply_nth)
			ret = reply_nth(self, nth, tr.data.ptr.buffer, &w.t);
		else
			ret = bwr(self->srv.fd, &w, sizeof(w), rbuf, sizeof(rbuf), &consumed);
		if (tr.code == CODE_QUIT) {
			ret = 0;
			break;
		}
	}
	if (!self->st.stop)
		self->st.err = ret;
	if (nth >= 0)
		close(nth);
	return NULL;
}

static void on_sigusr1(int sig)
{
}

/*
 * Stop the looper: a QUIT transaction if the server can still receive one,
 * else (a partial munmap left it unable to) a signal that interrupts its
 * read.
 */
static void looper_stop(FIXTURE_DATA(binder) *self)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct result r;
	int i;

	if (self->client > 0 && client_txn(self, CODE_QUIT, 0, 0, 0, &r) == 0 && !r.status) {
		pthread_join(self->looper, NULL);
		return;
	}
	self->st.stop = 1;
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
	for (i = 0; i < 10; i++) {
		pthread_kill(self->looper, SIGUSR1);
		if (!pthread_timedjoin_np(self->looper, NULL,
					  &(struct timespec){ .tv_sec = time(NULL) + 1 }))
			return;
	}
}

/*
 * Ask the client for one transaction, failing its nth fault-injection
 * point if nth > 0; 0 and *r, or -errno of the pipes.
 */
static int client_txn_nth(FIXTURE_DATA(binder) *self, uint32_t code, uint32_t pages,
			  uint32_t reply_pages, uint64_t seed, uint32_t nth, struct result *r)
{
	struct cmd c = {
		.op = OP_TXN, .pages = pages, .reply_pages = reply_pages,
		.code = code, .seed = seed, .nth = nth,
	};

	if (write(self->cmd_fd, &c, sizeof(c)) != sizeof(c))
		return -EPIPE;
	if (read(self->res_fd, r, sizeof(*r)) != sizeof(*r))
		return -EPIPE;
	return 0;
}

static int client_txn(FIXTURE_DATA(binder) *self, uint32_t code, uint32_t pages,
		      uint32_t reply_pages, uint64_t seed, struct result *r)
{
	return client_txn_nth(self, code, pages, reply_pages, seed, 0, r);
}

/* binder's LRU: pages freed by binder and not yet reclaimed. */
static long lru_count(FIXTURE_DATA(binder) *self)
{
	return vl_shrinker_count_at(self->shrinker);
}

static int lru_scan(FIXTURE_DATA(binder) *self, unsigned long nr)
{
	return vl_shrinker_scan_at(self->shrinker, nr);
}

static long lru_after_exit(FIXTURE_DATA(binder) *self);

FIXTURE_SETUP(binder)
{
	int to_client[2], from_client[2];
	struct result r;
	int ret;

	memset(&self->st, 0, sizeof(self->st));
	self->client = -1;
	self->looping = false;
	self->vl_fd = vl_open();
	ASSERT_LE(0, self->vl_fd) TH_LOG("open %s: %s", VL_DEV, strerror(errno));
	ret = bdev_create(&self->dev);
	ASSERT_EQ(0, ret) TH_LOG("binderfs device: %s", strerror(-ret));
	ret = bproc_open(&self->srv, self->dev.path);
	ASSERT_EQ(0, ret) TH_LOG("open/mmap %s: %s", self->dev.path, strerror(-ret));
	ASSERT_EQ(0, ioctl(self->srv.fd, BINDER_SET_CONTEXT_MGR, &(int32_t){0}))
		TH_LOG("BINDER_SET_CONTEXT_MGR: %s", strerror(errno));
	/* binder registers its shrinker at init: it must be there. */
	ret = vl_shrinker_find(SHRINKER_GLOB, self->shrinker, sizeof(self->shrinker));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", SHRINKER_GLOB, strerror(-ret));
	/*
	 * Nothing else in this boot uses binder: the LRU starts empty once the
	 * previous case's processes are gone (binder frees from a work item).
	 */
	ASSERT_EQ(0, lru_after_exit(self));
	/* A dead client must fail a case, not kill it before its teardown. */
	signal(SIGPIPE, SIG_IGN);

	self->reply = vl_anon(TXN_MAX_PAGES);
	ASSERT_NE(MAP_FAILED, self->reply);
	memset(self->reply, 0, TXN_MAX_PAGES * VL_PAGE);
	ASSERT_EQ(0, pthread_create(&self->looper, NULL, looper_main, self));
	self->looping = true;

	ASSERT_EQ(0, pipe2(to_client, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(from_client, O_CLOEXEC));
	self->client = fork();
	ASSERT_LE(0, self->client);
	if (self->client == 0) {
		close(to_client[1]);
		close(from_client[0]);
		client_main(self->dev.path, to_client[0], from_client[1]);
	}
	close(to_client[0]);
	close(from_client[1]);
	self->cmd_fd = to_client[1];
	self->res_fd = from_client[0];
	ASSERT_EQ(sizeof(r), read(self->res_fd, &r, sizeof(r)));
	ASSERT_EQ(0, r.status) TH_LOG("client open/mmap: %s", strerror(-r.status));
}

/*
 * Once both processes have closed binder, none of their pages is left on
 * the LRU. The last reference of a binder_proc may be dropped from a work
 * item: poll for a while.
 */
static long lru_after_exit(FIXTURE_DATA(binder) *self)
{
	long count = -1;
	int i;

	for (i = 0; i < 1000 && (count = lru_count(self)) != 0; i++)
		usleep(10000);
	return count;
}

FIXTURE_TEARDOWN(binder)
{
	bool started = self->looping && self->client > 0;
	int status;

	if (self->looping)
		looper_stop(self);
	if (self->client > 0) {
		struct cmd c = { .op = OP_EXIT };

		if (write(self->cmd_fd, &c, sizeof(c)) != sizeof(c))
			kill(self->client, SIGKILL);
		waitpid(self->client, &status, 0);
		close(self->cmd_fd);
		close(self->res_fd);
	}
	munmap(self->srv.map, MAP_PAGES * VL_PAGE);
	close(self->srv.fd);
	if (started) {
		long left = lru_after_exit(self);

		EXPECT_EQ(0, self->st.err) TH_LOG("the server's looper: %s", strerror(-self->st.err));
		EXPECT_EQ(0, left) TH_LOG("%ld pages on binder's LRU after both processes exited",
					  left);
	}
	bdev_destroy(&self->dev);
	close(self->vl_fd);
}

#define EXPECT_TXN_OK(r) do {						\
	EXPECT_EQ(0, (r).status);					\
	EXPECT_EQ(0, (r).server_bad);					\
	EXPECT_EQ(0, (r).reply_bad);					\
} while (0)

/*
 * Payloads of 1 .. TXN_MAX_PAGES pages and replies of up to 5 pages arrive
 * intact; the pages freed go to binder's LRU (the server's buffer area up
 * to the largest payload, and the client's up to the largest reply); one
 * scan frees them all, and after the transactions run again (installing
 * pages anew) the processes exit and leave the LRU empty.
 */
TEST_F(binder, transactions_and_reclaim)
{
	long count, count2;
	struct result r;
	int round, i;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < 24; i++) {
			uint32_t pages = 1 + (i * 37) % TXN_MAX_PAGES;

			if (i == 23)
				pages = TXN_MAX_PAGES;
			ASSERT_EQ(0, client_txn(self, CODE_TXN, pages, i % 6, round * 100 + i, &r));
			EXPECT_TXN_OK(r);
		}
		count = lru_count(self);
		/* Server: TXN_MAX_PAGES pages; client: 5 pages of replies. */
		EXPECT_EQ(TXN_MAX_PAGES + 5, count) TH_LOG("round %d: %ld pages on the LRU",
							   round, count);
		ASSERT_EQ(0, lru_scan(self, count + 64));
		count2 = lru_count(self);
		EXPECT_EQ(0, count2) TH_LOG("round %d: %ld of %ld pages not reclaimed",
					    round, count2, count);
		printf("# round %d: %ld pages freed to the LRU and reclaimed\n", round, count);
	}
	EXPECT_EQ(48, self->st.txns);
	EXPECT_EQ(0, self->st.bad_txns);

	/* Leave pages on the LRU: closing both processes must remove them (teardown). */
	ASSERT_EQ(0, client_txn(self, CODE_TXN, TXN_MAX_PAGES, 2, 7, &r));
	EXPECT_TXN_OK(r);
	EXPECT_LT(0, lru_count(self));
}

/* Hold @cmd with @flags on the server's binder VMA from a server thread. */
static int hold_start(FIXTURE_DATA(binder) *self, struct vl_holder *h, unsigned long cmd,
		      uint32_t flags)
{
	memset(h, 0, sizeof(*h));
	h->fd = self->vl_fd;
	h->cmd = cmd;
	h->addr = (uintptr_t)self->srv.map;
	h->ms = flags & VMALOCK_HOLD_VMA_WRITE ? HOLD_MS : 4 * HOLD_MS;
	h->flags = flags;
	if (flags & VMALOCK_HOLD_VMA_WRITE)
		return vl_holder_start_locked(h, HOLD_MS / 2);
	return vl_holder_start(h);
}

/*
 * Scan until the LRU stops shrinking; returns what is left, or -1. The C
 * binder's walk restarts after each page it frees (LRU_REMOVED_RETRY), and
 * every restart walks the pages it skips again, which count against
 * nr_to_scan: with skipped pages at the head of the LRU one scan frees only
 * a few, as one call of the shrinker from reclaim would.
 */
static long scan_until_stable(FIXTURE_DATA(binder) *self)
{
	long count = lru_count(self), last;
	int i;

	for (i = 0; i < 100 && count > 0; i++) {
		last = count;
		if (lru_scan(self, MAP_PAGES * 4))
			return -1;
		count = lru_count(self);
		if (count >= last)
			break;
	}
	return count;
}

/* Empty the LRU, so that the next transaction installs its pages anew. */
static void drain(struct __test_metadata *_metadata, FIXTURE_DATA(binder) *self)
{
	ASSERT_EQ(0, scan_until_stable(self));
}

/*
 * With the server's binder VMA write-locked, installing a page in it waits
 * for the writer (vma_start_read_unlocked()'s slow path: lock_vma_under_rcu()
 * fails, mmap_read_lock_killable() waits): the transaction's reply comes
 * after the hold ended, and its payload is intact. With only the mmap write
 * lock held, the installation takes the per-VMA lock and the reply comes
 * while the hold is still on.
 */
TEST_F_TIMEOUT(binder, insert_waits_for_vma_writer, 90)
{
	unsigned int slow = 0, fast = 0, tries;
	struct vl_holder h;
	struct result r;
	int ret;

	/* Warm up the client's and the server's buffers, then free all. */
	ASSERT_EQ(0, client_txn(self, CODE_TXN, 32, 1, 1, &r));
	EXPECT_TXN_OK(r);

	for (tries = 0; tries < 3 && slow < 2; tries++) {
		drain(_metadata, self);
		ret = hold_start(self, &h, VMALOCK_IOC_HOLD_MMAP_WRITE, VMALOCK_HOLD_VMA_WRITE);
		ASSERT_EQ(0, ret) TH_LOG("hold: %s", strerror(-ret));
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 32, 0, 10 + tries, &r));
		ASSERT_EQ(0, vl_holder_join(&h));
		ASSERT_EQ(0, h.ret);
		EXPECT_TXN_OK(r);
		/* The hold ends no earlier than HOLD_MS after it started. */
		if (r.start_ns >= h.started_ns + HOLD_MS * 500000ULL) {
			printf("# try %u: the transaction started late in the hold\n", tries);
			continue;
		}
		EXPECT_LE(h.started_ns + HOLD_MS * 1000000ULL, r.end_ns)
			TH_LOG("the reply came %llu ms into a %u ms hold of the VMA",
			       (unsigned long long)(r.end_ns - h.started_ns) / 1000000, HOLD_MS);
		if (r.end_ns >= h.started_ns + HOLD_MS * 1000000ULL)
			slow++;
	}
	EXPECT_LE(2, slow) TH_LOG("%u transactions waited for the VMA writer", slow);

	for (tries = 0; tries < 3 && fast < 2; tries++) {
		drain(_metadata, self);
		ret = hold_start(self, &h, VMALOCK_IOC_HOLD_MMAP_WRITE, 0);
		ASSERT_EQ(0, ret);
		/* The holder sleeps in its ioctl once it has the lock. */
		while (!h.started_ns)
			usleep(1000);
		ret = vl_wait_task_blocked(getpid(), h.tid, "DS", SYS_ioctl, 2 * HOLD_MS,
					   NULL, NULL);
		if (ret) {
			vl_holder_join(&h);
			printf("# try %u: the holder was not seen holding\n", tries);
			continue;
		}
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 32, 0, 20 + tries, &r));
		EXPECT_TXN_OK(r);
		/* Done while the hold was still on. */
		if (!h.done)
			fast++;
		else
			printf("# try %u: the reply came %llu ms into a %u ms mmap write hold\n",
			       tries, (unsigned long long)(r.end_ns - h.started_ns) / 1000000,
			       h.ms);
		ASSERT_EQ(0, vl_holder_join(&h));
	}
	EXPECT_LE(2, fast) TH_LOG("%u transactions went past an mmap write lock holder", fast);
	printf("# %u page installations waited for a VMA writer, %u did not wait for an mmap writer\n",
	       slow, fast);
}

/*
 * Install the pages of a transaction of @pages pages (reply: 1 page), free
 * them all, send it again (installing them anew) and return what is then
 * on binder's LRU: the pages the second transaction freed.
 */
static long lru_filled(struct __test_metadata *_metadata, FIXTURE_DATA(binder) *self,
		       uint32_t pages, uint64_t seed)
{
	struct result r;

	EXPECT_EQ(0, client_txn(self, CODE_TXN, pages, 1, seed, &r));
	EXPECT_TXN_OK(r);
	drain(_metadata, self);
	EXPECT_EQ(0, client_txn(self, CODE_TXN, pages, 1, seed + 1, &r));
	EXPECT_TXN_OK(r);
	return lru_count(self);
}

/*
 * Kernel log records from fd (/dev/kmsg, non-blocking, read to its end)
 * that contain a or b; how many.
 */
static int kmsg_count(int fd, const char *a, const char *b)
{
	char rec[1024];
	int n = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) > 0 || (len < 0 && errno == EPIPE)) {
		if (len <= 0)
			continue;	/* EPIPE: records were overwritten; go on */
		rec[len] = 0;
		if (strstr(rec, a) || strstr(rec, b)) {
			printf("# kmsg: %s", rec);
			n++;
		}
	}
	return n;
}

/*
 * A sender killed while binder waits for a VMA writer to install pages in
 * the receiver's mapping: vma_start_read_unlocked() waits killably, so the
 * client dies while the writer still holds the VMA, and neither binder logs
 * it as an error (the page insertion fails with EINTR). On a stock kernel
 * the fallback is mmap_read_lock(), which is not killable: the client
 * would only die once the writer let go.
 */
#define KILL_HOLD_MS	3000
TEST_F_TIMEOUT(binder, killed_sender_waiting_for_vma_writer, 60)
{
	struct cmd c = { .op = OP_TXN, .pages = 32, .code = CODE_TXN, .seed = 40 };
	struct vl_holder h = {
		.fd = self->vl_fd, .cmd = VMALOCK_IOC_HOLD_MMAP_WRITE,
		.addr = (uintptr_t)self->srv.map, .ms = KILL_HOLD_MS,
		.flags = VMALOCK_HOLD_VMA_WRITE,
	};
	int kmsg, ret, status, state = 0;
	long nr = 0;
	bool held;

	drain(_metadata, self);		/* the transaction must install pages */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));
	ret = vl_holder_start_locked(&h, KILL_HOLD_MS / 4);
	ASSERT_EQ(0, ret) TH_LOG("hold: %s", strerror(-ret));

	ASSERT_EQ(sizeof(c), write(self->cmd_fd, &c, sizeof(c)));
	/* The client blocks in its BC_TRANSACTION, killable ("D"). */
	ret = vl_wait_task_blocked(self->client, self->client, "D", SYS_ioctl, KILL_HOLD_MS / 2,
				   &state, &nr);
	EXPECT_EQ(0, ret) TH_LOG("the client was not seen blocked (state %c, syscall %ld)",
				 state, nr);
	ASSERT_EQ(0, kill(self->client, SIGKILL));
	ASSERT_EQ(self->client, waitpid(self->client, &status, 0));
	held = !__atomic_load_n(&h.done, __ATOMIC_ACQUIRE);
	self->client = -1;
	close(self->cmd_fd);
	close(self->res_fd);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_TRUE(held) TH_LOG("the killed client only exited after the writer let go");

	ASSERT_EQ(0, vl_holder_join(&h));
	EXPECT_EQ(0, h.ret);
	/* Binder's release of the client is done from a work item. */
	usleep(200000);
	EXPECT_EQ(0, kmsg_count(kmsg, "failed to insert page", "use_page_slow"));
	close(kmsg);
	/* The server never got the transaction, and is still fine. */
	EXPECT_EQ(0, self->st.err);
}

/*
 * Reclaim never waits: with the server's binder VMA write-locked, a scan
 * frees the client's pages and skips the server's (the VMA is mapped but
 * cannot be locked); once the writer is gone the next scan frees them.
 */
TEST_F(binder, reclaim_skips_write_locked_vma)
{
	long before, during, after;
	uint64_t t0, scan_ms;
	struct vl_holder h;
	struct result r;
	int ret;

	/* Now: 40 server pages and 1 client page on the LRU. */
	before = lru_filled(_metadata, self, 40, 3);
	EXPECT_EQ(41, before);

	ret = hold_start(self, &h, VMALOCK_IOC_HOLD_MMAP_WRITE, VMALOCK_HOLD_VMA_WRITE);
	ASSERT_EQ(0, ret) TH_LOG("hold: %s", strerror(-ret));
	t0 = vl_now_ns();
	ret = lru_scan(self, MAP_PAGES * 4);
	during = lru_count(self);
	scan_ms = vl_ms_since(t0);
	ASSERT_EQ(0, vl_holder_join(&h));
	ASSERT_EQ(0, ret);
	/* The scan returned while the VMA was still write-locked. */
	EXPECT_GT(HOLD_MS / 2, scan_ms) TH_LOG("the scan took %llu ms",
					       (unsigned long long)scan_ms);
	EXPECT_EQ(40, during) TH_LOG("%ld of %ld pages left on the LRU under the writer",
				     during, before);

	ASSERT_EQ(0, lru_scan(self, MAP_PAGES * 4));
	after = lru_count(self);
	EXPECT_EQ(0, after);
	/* The pages come back on the next transaction. */
	ASSERT_EQ(0, client_txn(self, CODE_TXN, 40, 1, 5, &r));
	EXPECT_TXN_OK(r);
}

/* Which binder this boot has: the C one (binder_linux) has module parameters. */
static bool c_binder(void)
{
	return access("/sys/module/binder_linux/parameters/debug_mask", F_OK) == 0;
}

/*
 * Part of the server's binder mapping is unmapped while its pages are on
 * the LRU, then the shrinker runs until the LRU stops shrinking. 96 server
 * pages (0 .. 95) and 1 client page are on the LRU; @head says whether
 * pages 0 .. 63 or 64 .. 255 are unmapped. The series keeps C binder's
 * behaviour and changes Rust Binder's in the head and contended cases:
 *
 * C binder: the unmapped part's ->close() marks the whole binder_alloc
 * unmapped (binder cannot tell a partial from a full munmap). The shrinker
 * frees the pages of the unmapped part (no VMA covers them: nothing to
 * zap) and skips those of the part still mapped (a VMA that belongs to a
 * binder_alloc no longer mapped is taken for an impostor), which stay
 * mapped and readable until the process unmaps them. The server can no
 * longer receive transactions (BR_DEAD_REPLY).
 *
 * Rust Binder: its VMA has no ->close(). Stock reclaim locks the VMA at
 * the start of the mapping for every page. Tail unmapped: that VMA is
 * still binder's, every page is freed (the mapped ones zapped: reading
 * them now raises SIGBUS, binder's VMA has no ->fault()). Head unmapped:
 * no VMA at the start, so every server page is skipped and stays on the
 * LRU until the process closes binder. With the series ("rust_binder: free
 * unused pages whose VMA is gone") reclaim locks the VMA at each page and
 * frees a page without a VMA: head or tail unmapped, every page is freed
 * and the kept part zapped.
 */
static void partial_munmap(struct __test_metadata *_metadata, FIXTURE_DATA(binder) *self,
			   bool head, bool contended)
{
	char *gone = self->srv.map + (head ? 0 : 64 * VL_PAGE);
	char *kept = self->srv.map + (head ? 64 * VL_PAGE : 0);
	size_t gone_pages = head ? 64 : MAP_PAGES - 64;
	int kept_lru = head ? 32 : 64, gone_lru = 96 - kept_lru;
	long before, after, want_after;
	bool c = c_binder();
	uint64_t word, want;
	struct vl_holder h;
	struct result r;
	int ret;

	before = lru_filled(_metadata, self, 96, 30);
	ASSERT_EQ(97, before);

	ASSERT_EQ(0, munmap(gone, gone_pages * VL_PAGE));
	if (contended) {
		long during;

		/*
		 * The kept part write-locked (e.g. by an mprotect() of it) while
		 * the shrinker runs. C binder: each of its pages must still be
		 * skipped, as the part is mapped; freeing them without a VMA
		 * to zap them from would drop binder's reference to pages the
		 * process still maps. Rust Binder, with the series, the same;
		 * stock Rust Binder locked the VMA at the start of the mapping
		 * for every page, and skipped them all (96).
		 */
		ret = hold_start(self, &h, VMALOCK_IOC_HOLD_MMAP_WRITE, VMALOCK_HOLD_VMA_WRITE);
		ASSERT_EQ(0, ret) TH_LOG("hold: %s", strerror(-ret));
		during = scan_until_stable(self);
		/* Else the scans were not all made under the writer. */
		EXPECT_FALSE(h.done) TH_LOG("the hold ended before the scans did");
		ASSERT_EQ(0, vl_holder_join(&h));
		EXPECT_EQ(kept_lru, during)
			TH_LOG("%s binder, kept part write-locked: %ld of %ld pages left on the LRU",
			       c ? "C" : "Rust", during, before);
	}
	after = scan_until_stable(self);
	if (c)
		want_after = kept_lru;		/* the kept part's pages are skipped */
	else
		want_after = 0;			/* all freed (stock, head: 96) */
	EXPECT_EQ(want_after, after)
		TH_LOG("%s binder, %s unmapped: %ld of %ld pages left on the LRU (%d kept, %d gone)",
		       c ? "C" : "Rust", head ? "head" : "tail", after, before, kept_lru, gone_lru);

	/*
	 * The kept part's first LRU page: still mapped with its contents (page
	 * 0 starts with the payload's head, page 64 holds pattern words), or
	 * zapped by Rust Binder's reclaim.
	 */
	ret = vl_probe_read(kept, &word);
	want = head ? vl_pattern(31, 64 * VL_PAGE / 8) : PAYLOAD_MAGIC;
	if (c) {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(want, word);
	} else {
		EXPECT_EQ(SIGBUS, ret) TH_LOG("reading a reclaimed page: %d", ret);
	}

	/* C binder no longer delivers to the server (-ESRCH: BR_DEAD_REPLY). */
	if (c) {
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 1, 0, 32, &r));
		EXPECT_EQ(ST_DEAD_REPLY, r.status);
	}
}

TEST_F(binder, partial_munmap_tail_reclaim)
{
	partial_munmap(_metadata, self, false, false);
}

TEST_F(binder, partial_munmap_tail_contended_reclaim)
{
	partial_munmap(_metadata, self, false, true);
}

TEST_F(binder, partial_munmap_head_reclaim)
{
	partial_munmap(_metadata, self, true, false);
}

/* How long the stress runs: VMALOCK_RACE_MS, default 3000, at most 100000. */
#define RACE_MS_MAX	100000
static unsigned int race_ms(struct __test_metadata *_metadata)
{
	uint64_t ms = 3000;

	ASSERT_LE(0, vl_env_u64("VMALOCK_RACE_MS", &ms));
	ASSERT_TRUE(ms >= 1 && ms <= RACE_MS_MAX)
		TH_LOG("VMALOCK_RACE_MS=%llu: must be 1 .. %u", (unsigned long long)ms, RACE_MS_MAX);
	return ms;
}

struct writer {
	char *binder_map;
	char *anon;		/* populated, unrelated */
	volatile int stop;
	uint64_t binder_ops, anon_ops;
	int err;
};

/*
 * Write-lock the binder VMA (madvise() toggling VM_SEQ_READ: vma_start_write()
 * without changing anything binder looks at; MADV_DOFORK is refused for
 * binder's VM_MIXEDMAP VMA) and an unrelated populated region (mprotect())
 * in a loop.
 */
static void *writer_main(void *arg)
{
	struct writer *w = arg;

	while (!w->stop && !w->err) {
		if (madvise(w->binder_map, MAP_PAGES * VL_PAGE, MADV_SEQUENTIAL) ||
		    madvise(w->binder_map, MAP_PAGES * VL_PAGE, MADV_NORMAL)) {
			w->err = errno;
			break;
		}
		w->binder_ops++;
		if (mprotect(w->anon, 16 * VL_PAGE, PROT_READ) ||
		    mprotect(w->anon, 16 * VL_PAGE, PROT_READ | PROT_WRITE)) {
			w->err = errno;
			break;
		}
		w->anon[(w->anon_ops % 16) * VL_PAGE]++;
		w->anon_ops++;
	}
	return NULL;
}

/*
 * Transactions of 1 .. 96 pages and shrinker scans while another server
 * thread write-locks the binder VMA and an unrelated VMA in a loop: every
 * payload and reply arrives intact, the writer and the transactions both
 * make progress, and once the writer stops one scan empties the LRU.
 */
TEST_F_TIMEOUT(binder, transactions_vs_vma_writers, 150)
{
	unsigned int ms = race_ms(_metadata);
	struct writer w = { .binder_map = self->srv.map };
	uint64_t t0, txns = 0, scans = 0;
	pthread_t wt;
	struct result r;

	w.anon = vl_anon(16);
	ASSERT_NE(MAP_FAILED, w.anon);
	memset(w.anon, 1, 16 * VL_PAGE);
	ASSERT_EQ(0, pthread_create(&wt, NULL, writer_main, &w));
	t0 = vl_now_ns();
	while (vl_ms_since(t0) < ms) {
		uint32_t pages = 1 + (txns * 29) % TXN_MAX_PAGES;

		if (client_txn(self, CODE_TXN, pages, txns % 4, 1000 + txns, &r))
			break;
		EXPECT_TXN_OK(r);
		if (r.status)
			break;
		txns++;
		if (txns % 3 == 0) {
			EXPECT_EQ(0, lru_scan(self, MAP_PAGES));
			scans++;
		}
	}
	w.stop = 1;
	pthread_join(wt, NULL);
	EXPECT_EQ(0, w.err) TH_LOG("writer: %s", strerror(w.err));
	printf("# %llu transactions, %llu scans, %llu binder VMA and %llu other VMA write cycles in %u ms\n",
	       (unsigned long long)txns, (unsigned long long)scans,
	       (unsigned long long)w.binder_ops, (unsigned long long)w.anon_ops, ms);
	EXPECT_LE(20, txns);
	EXPECT_LE(20, w.binder_ops);
	EXPECT_EQ(txns, self->st.txns);
	EXPECT_EQ(0, self->st.bad_txns);
	drain(_metadata, self);
	munmap(w.anon, 16 * VL_PAGE);
}

/* What a binder call may fail with under fault injection. */
static bool documented_failure(int status)
{
	return status == -EFAULT || status == -ENOMEM || status == ST_FAILED_REPLY;
}

static void fault_injection_on(struct __test_metadata *_metadata)
{
	const char *knob = "";
	int ret = vl_fault_injection_setup(&knob);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s (CONFIG_FAULT_INJECTION_DEBUG_FS?)", knob,
				 strerror(-ret));
}

#define MAX_NTH		5000

/*
 * The sender's side of a transaction under fault injection: the client's
 * thread allocates the transaction, the server's buffer and its pages,
 * installs them in the server's mapping, copies the payload in and the
 * reply out. For N = 1, 2, ... the Nth point of that thread fails, until a
 * transaction runs through without reaching it. After each injected
 * failure the error is EFAULT or ENOMEM from the ioctl or BR_FAILED_REPLY
 * (or the transaction got past it intact), the LRU can be emptied (no page
 * is left half-installed) and the next clean transaction arrives intact.
 */
TEST_F_TIMEOUT(binder, transaction_fault_injection, 200)
{
	unsigned int n, hits = 0, failed = 0, recovered = 0, late = 0;
	bool finished = false;
	struct result r;

	fault_injection_on(_metadata);
	for (n = 1; n <= MAX_NTH; n++) {
		drain(_metadata, self);		/* the pages are installed anew */
		ASSERT_EQ(0, client_txn_nth(self, CODE_TXN, 8, 2, 500 + n, n, &r));
		if (!r.injected) {
			EXPECT_TXN_OK(r);
			finished = true;
			break;
		}
		hits++;
		late += r.late;
		if (!r.status) {
			recovered++;
			EXPECT_TXN_OK(r);
		} else {
			failed++;
			EXPECT_TRUE(documented_failure(r.status))
				TH_LOG("point %u: undocumented failure %d", n, r.status);
			/* A reply that still arrived is intact. */
			EXPECT_EQ(0, r.reply_bad);
			EXPECT_EQ(0, r.server_bad);
		}
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 8, 2, 100000 + n, &r));
		EXPECT_EQ(0, r.status) TH_LOG("point %u: the clean transaction: %d", n, r.status);
		EXPECT_TXN_OK(r);
		late += r.stale;
		if (_metadata->exit_code)
			break;
	}
	drain(_metadata, self);
	EXPECT_TRUE(finished) TH_LOG("still failing after %u points", n - 1);
	EXPECT_LT(0, hits);
	ksft_print_msg("transaction: %u injection points: %u failed cleanly (%u replies read after the failed ioctl), %u recovered\n",
		       hits, failed, late, recovered);
}

/*
 * The server's side: its BC_REPLY allocates the reply's buffer in the
 * client's mapping, inserts its pages there (binder's page insert for
 * another process's mm, from the server's thread) and copies the reply in.
 * For N = 1, 2, ... the looper fails the Nth point of its BC_REPLY ioctl
 * and resends a reply binder did not take (see reply_nth()), until a
 * reply runs through without reaching the point. After each injected
 * failure: the server's ioctl succeeded or failed with EFAULT or ENOMEM;
 * binder either took the reply (BR_TRANSACTION_COMPLETE) or refused it
 * (BR_FAILED_REPLY, C binder only: its allocation before the reply is
 * taken) or never saw it, and the one clean resend was taken; the client
 * got the reply intact or BR_FAILED_REPLY, never nothing; the LRU can be
 * emptied and the next clean transaction arrives intact.
 */
TEST_F_TIMEOUT(binder, reply_fault_injection, 200)
{
	unsigned int n, hits = 0, failed = 0, ioctl_failed = 0, refused = 0, recovered = 0;
	bool finished = false;
	struct result r;

	fault_injection_on(_metadata);
	for (n = 1; n <= MAX_NTH; n++) {
		uint32_t seq = __atomic_load_n(&self->st.reply_seq, __ATOMIC_ACQUIRE);
		int i;

		drain(_metadata, self);		/* the client's pages are installed anew */
		self->st.reply_nth = n;
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 2, 8, 700 + n, &r));
		/* The looper records its side right after its ioctls. */
		for (i = 0; i < 500 && __atomic_load_n(&self->st.reply_seq,
						       __ATOMIC_ACQUIRE) == seq; i++)
			usleep(10000);
		ASSERT_NE(seq, self->st.reply_seq) TH_LOG("point %u: the looper did not reply", n);
		if (!self->st.reply_injected) {
			EXPECT_EQ(0, self->st.reply_ret);
			EXPECT_EQ(1, self->st.reply_outcome);
			EXPECT_TXN_OK(r);
			finished = true;
			break;
		}
		hits++;
		if (self->st.reply_ret) {
			ioctl_failed++;
			EXPECT_TRUE(self->st.reply_ret == -EFAULT || self->st.reply_ret == -ENOMEM)
				TH_LOG("point %u: BC_REPLY failed with %d", n, self->st.reply_ret);
		}
		if (self->st.reply_outcome == -2)
			refused++;
		else
			EXPECT_TRUE(self->st.reply_outcome == 1 || self->st.reply_ret)
				TH_LOG("point %u: the ioctl succeeded, binder queued %d", n,
				       self->st.reply_outcome);
		if (self->st.reply_resent) {
			EXPECT_EQ(0, self->st.reply_resent_ret)
				TH_LOG("point %u: the clean resend: %d", n, self->st.reply_resent_ret);
			EXPECT_EQ(1, self->st.reply_resent_outcome)
				TH_LOG("point %u: the clean resend was not taken (%d)", n,
				       self->st.reply_resent_outcome);
		}
		if (r.status == ST_FAILED_REPLY) {
			failed++;
		} else {
			if (!self->st.reply_ret && !self->st.reply_resent)
				recovered++;
			EXPECT_TXN_OK(r);
		}
		ASSERT_EQ(0, client_txn(self, CODE_TXN, 2, 8, 200000 + n, &r));
		EXPECT_EQ(0, r.status) TH_LOG("point %u: the clean transaction: %d", n, r.status);
		EXPECT_TXN_OK(r);
		if (_metadata->exit_code)
			break;
	}
	self->st.reply_nth = 0;
	drain(_metadata, self);
	EXPECT_TRUE(finished) TH_LOG("still failing after %u points", n - 1);
	EXPECT_LT(0, hits);
	EXPECT_LT(0, failed) TH_LOG("no injected failure made the reply fail");
	ksft_print_msg("reply: %u injection points: the client got BR_FAILED_REPLY %u times; the server's ioctl failed %u times, binder refused the reply %u times (both resent); %u recovered\n",
		       hits, failed, ioctl_failed, refused, recovered);
}

/* open() and mmap() of a binder device under fault injection, as above. */
TEST_F_TIMEOUT(binder, open_mmap_fault_injection, 120)
{
	int nth = vl_nth_open(), step;

	ASSERT_LE(0, nth);
	fault_injection_on(_metadata);
	for (step = 0; step < 2; step++) {
		unsigned int n, hits = 0, failed = 0, recovered = 0;
		const char *what = step ? "mmap" : "open";
		bool finished = false;

		for (n = 1; n <= MAX_NTH; n++) {
			int fd = step ? open(self->dev.path, O_RDWR | O_CLOEXEC) : -1;
			bool injected;
			void *map = MAP_FAILED;
			int err = 0, ok;

			if (step)
				ASSERT_LE(0, fd);
			ASSERT_EQ(0, vl_nth_arm(nth, n));
			if (step) {
				map = mmap(NULL, MAP_PAGES * VL_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
				err = map == MAP_FAILED ? errno : 0;
			} else {
				fd = open(self->dev.path, O_RDWR | O_CLOEXEC);
				err = fd < 0 ? errno : 0;
			}
			injected = vl_nth_injected(nth);
			ok = !err;
			if (map != MAP_FAILED)
				munmap(map, MAP_PAGES * VL_PAGE);
			if (fd >= 0)
				close(fd);
			if (!injected) {
				EXPECT_TRUE(ok) TH_LOG("%s without injection: %s", what, strerror(err));
				finished = true;
				break;
			}
			hits++;
			if (ok) {
				recovered++;
			} else {
				failed++;
				EXPECT_TRUE(err == ENOMEM || err == EFAULT)
					TH_LOG("%s, point %u: undocumented errno %d (%s)", what, n,
					       err, strerror(err));
			}
			/* The clean call works, and the device still transacts. */
			fd = open(self->dev.path, O_RDWR | O_CLOEXEC);
			ASSERT_LE(0, fd);
			map = mmap(NULL, MAP_PAGES * VL_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
			EXPECT_NE(MAP_FAILED, map) TH_LOG("%s, point %u: clean mmap: %s", what, n,
							  strerror(errno));
			if (map != MAP_FAILED)
				munmap(map, MAP_PAGES * VL_PAGE);
			close(fd);
			if (_metadata->exit_code)
				break;
		}
		EXPECT_TRUE(finished) TH_LOG("%s still failing after %u points", what, n - 1);
		EXPECT_LT(0, hits);
		ksft_print_msg("%s: %u injection points: %u failed cleanly, %u recovered\n",
			       what, hits, failed, recovered);
	}
	close(nth);
	{
		struct result r;

		ASSERT_EQ(0, client_txn(self, CODE_TXN, 8, 2, 77, &r));
		EXPECT_TXN_OK(r);
	}
}

TEST_HARNESS_MAIN
