// SPDX-License-Identifier: GPL-2.0
/*
 * memstress: random page accesses over a working set, to measure what a swap
 * device costs an application that does not fit in its local memory.
 *
 * Phases:
 *   init    every page is written in order with a pattern derived from its
 *           index, so the whole working set exists (and, under a memory
 *           limit, most of it is pushed to swap);
 *   access  --ops page accesses, page chosen uniformly or Zipfian: each
 *           access checks the page's header, bumps the page's version and
 *           rewrites one 64-byte line with data derived from (page, version);
 *   verify  every page is checked in full against the content its version
 *           implies.
 * Any mismatch is counted and makes the exit status 1: a swap device that
 * loses or mixes up pages fails the benchmark rather than scoring well.
 *
 * The per-page versions live in a separate array (4 bytes per 4 KiB page,
 * 0.1% of the working set) because the expected content must not depend on
 * the memory under test.
 *
 * Output: one line of key=value pairs on stdout, read by bench/report.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES	4096u
#define LINE_BYTES	64u
#define WORDS_PER_LINE	(LINE_BYTES / sizeof(uint64_t))
#define LINES_PER_PAGE	(PAGE_BYTES / LINE_BYTES)
/* Line 0 holds the header; lines 1..ROT_LINES are rewritten in turn. */
#define ROT_LINES	(LINES_PER_PAGE - 1)
#define HDR_MAGIC	UINT64_C(0x726d656d73747273)	/* "rmemstrs" */

struct page_hdr {
	uint64_t tag;		/* HDR_MAGIC ^ page index */
	uint64_t version;
};

static uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Word @w of line @line of page @page as written at version @ver. */
static uint64_t pattern_word(uint64_t page, uint64_t ver, unsigned line,
			     unsigned w)
{
	return splitmix64(page * UINT64_C(0x100000001b3) ^
			  (ver << 20) ^ ((uint64_t)line << 8) ^ w);
}

/*
 * The version at which rotating line @line (1..ROT_LINES) was last written,
 * given the page is at version @ver: access number v rewrites line
 * 1 + (v - 1) % ROT_LINES, so the last v <= ver with that line.  0 means the
 * line still holds its init content.
 */
static uint64_t line_version(uint64_t ver, unsigned line)
{
	if (ver < line)
		return 0;
	return line + ROT_LINES * ((ver - line) / ROT_LINES);
}

static void write_line(uint64_t *pg, uint64_t page, uint64_t ver,
		       unsigned line)
{
	uint64_t *l = pg + (size_t)line * WORDS_PER_LINE;

	for (unsigned w = 0; w < WORDS_PER_LINE; w++)
		l[w] = pattern_word(page, ver, line, w);
}

static unsigned long check_page(const uint64_t *pg, uint64_t page,
				uint64_t ver)
{
	const struct page_hdr *h = (const void *)pg;
	unsigned long bad = 0;

	if (h->tag != (HDR_MAGIC ^ page) || h->version != ver)
		bad++;
	for (unsigned w = 2; w < WORDS_PER_LINE; w++)
		if (pg[w] != pattern_word(page, 0, 0, w))
			bad++;
	for (unsigned line = 1; line <= ROT_LINES; line++) {
		const uint64_t *l = pg + (size_t)line * WORDS_PER_LINE;
		uint64_t lv = line_version(ver, line);

		for (unsigned w = 0; w < WORDS_PER_LINE; w++)
			if (l[w] != pattern_word(page, lv, line, w))
				bad++;
	}
	return bad;
}

/* xorshift64*: cheap, and good enough to pick pages. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static double rng_unit(uint64_t *s)
{
	return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * Zipfian ranks after Gray et al., "Quickly generating billion-record
 * synthetic databases" (as used by YCSB): rank 0 is the hottest.
 */
struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta;
};

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = 1.0 + pow(0.5, theta);

	z->n = n;
	z->theta = theta;
	z->zetan = 0;
	for (uint64_t i = 1; i <= n; i++)
		z->zetan += 1.0 / pow((double)i, theta);
	z->alpha = 1.0 / (1.0 - theta);
	z->eta = (1.0 - pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
}

static uint64_t zipf_next(const struct zipf *z, uint64_t *s)
{
	double u = rng_unit(s), uz = u * z->zetan;
	uint64_t r;

	if (uz < 1.0)
		return 0;
	if (uz < 1.0 + pow(0.5, z->theta))
		return 1;
	r = (uint64_t)(z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
	return r < z->n ? r : z->n - 1;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memstress --size MIB [--mode uniform|zipf] [--ops N]\n"
		"                 [--theta T] [--seed S] [--time-limit SECONDS]\n"
		"  --ops         page accesses after init (default: 4 x pages)\n"
		"  --theta       Zipf skew, 0 < T < 1 (default 0.99)\n"
		"  --time-limit  stop the access phase early after SECONDS and\n"
		"                report the rate over the accesses done\n"
		"  --inject-fault  corrupt one word before the final check\n"
		"                (tests that the check fails)\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "ops", required_argument, NULL, 'o' },
		{ "theta", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "time-limit", required_argument, NULL, 'l' },
		{ "inject-fault", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size_mib = 0, ops = 0, seed = 1, limit_s = 0;
	uint64_t pages, done, stride, mismatches = 0;
	double theta = 0.99, t0, t1, t2, t3;
	const char *mode = "uniform";
	struct zipf zipf = { 0 };
	uint32_t *versions;
	uint64_t *mem;
	int zipfian, c, inject = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &size_mib) || !size_mib ||
			    size_mib > (UINT64_C(1) << 24)) {
				fprintf(stderr, "memstress: bad --size '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'm':
			mode = optarg;
			break;
		case 'o':
			if (parse_u64(optarg, &ops)) {
				fprintf(stderr, "memstress: bad --ops '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 't': {
			char *end;

			theta = strtod(optarg, &end);
			if (end == optarg || *end || !(theta > 0 && theta < 1)) {
				fprintf(stderr, "memstress: bad --theta '%s'\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'S':
			if (parse_u64(optarg, &seed)) {
				fprintf(stderr, "memstress: bad --seed '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'l':
			if (parse_u64(optarg, &limit_s)) {
				fprintf(stderr,
					"memstress: bad --time-limit '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'F':
			inject = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !size_mib) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "uniform")) {
		zipfian = 0;
	} else if (!strcmp(mode, "zipf")) {
		zipfian = 1;
	} else {
		fprintf(stderr, "memstress: bad --mode '%s'\n", mode);
		return 2;
	}

	pages = size_mib * (1024 * 1024 / PAGE_BYTES);
	if (!ops)
		ops = 4 * pages;
	/* Anonymous private memory: exactly what gets swapped. */
	mem = mmap(NULL, pages * PAGE_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memstress: mmap");
		return 1;
	}
	/* Transparent huge pages would swap as 2 MiB units (or be split):
	 * keep the unit the page, as the devices are compared per page. */
	madvise(mem, pages * PAGE_BYTES, MADV_NOHUGEPAGE);
	versions = calloc(pages, sizeof(*versions));
	if (!versions) {
		perror("memstress: calloc");
		return 1;
	}
	if (zipfian)
		zipf_init(&zipf, pages, theta);
	/* Scatter ranks over the working set so hot pages are not adjacent
	 * (neighbours would share swap readahead): an odd multiplier coprime
	 * with the page count makes rank -> page a bijection. */
	stride = UINT64_C(2654435761) % pages;
	while (stride < 2 || gcd(stride, pages) != 1)
		stride++;

	t0 = now_s();
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t *pg = mem + p * (PAGE_BYTES / sizeof(uint64_t));
		struct page_hdr *h = (void *)pg;

		h->tag = HDR_MAGIC ^ p;
		h->version = 0;
		for (unsigned w = 2; w < WORDS_PER_LINE; w++)
			pg[w] = pattern_word(p, 0, 0, w);
		for (unsigned line = 1; line < LINES_PER_PAGE; line++)
			write_line(pg, p, 0, line);
	}
	t1 = now_s();

	seed = splitmix64(seed) | 1;
	for (done = 0; done < ops; done++) {
		uint64_t rank, p, v;
		uint64_t *pg;
		struct page_hdr *h;

		rank = zipfian ? zipf_next(&zipf, &seed) :
				 rng_next(&seed) % pages;
		p = (rank * stride) % pages;
		pg = mem + p * (PAGE_BYTES / sizeof(uint64_t));
		h = (void *)pg;
		if (h->tag != (HDR_MAGIC ^ p) || h->version != versions[p]) {
			mismatches++;
			if (mismatches <= 5)
				fprintf(stderr,
					"memstress: page %" PRIu64
					" header mismatch (tag %#" PRIx64
					" version %" PRIu64 ", want %u)\n",
					p, h->tag, h->version, versions[p]);
		}
		v = ++versions[p];
		h->version = v;
		write_line(pg, p, v, 1 + (unsigned)((v - 1) % ROT_LINES));
		/* Checking the clock every 4096 accesses costs nothing. */
		if (limit_s && !(done & 4095) && now_s() - t1 > limit_s) {
			done++;
			break;
		}
	}
	t2 = now_s();

	/* Self-test of the check: corrupt one word of the last page, as a
	 * device returning a wrong page would. */
	if (inject)
		mem[pages * (PAGE_BYTES / 8) - 1] ^= 1;

	for (uint64_t p = 0; p < pages; p++) {
		unsigned long bad = check_page(mem + p * (PAGE_BYTES / 8),
					       p, versions[p]);

		if (bad) {
			mismatches += bad;
			if (mismatches <= 5 + bad)
				fprintf(stderr,
					"memstress: page %" PRIu64
					" content mismatch (%lu words)\n",
					p, bad);
		}
	}
	t3 = now_s();

	printf("memstress mode=%s size_mib=%" PRIu64 " pages=%" PRIu64
	       " ops=%" PRIu64 " ops_requested=%" PRIu64
	       " truncated=%d init_s=%.3f access_s=%.3f verify_s=%.3f"
	       " total_s=%.3f ops_per_s=%.1f mismatches=%" PRIu64
	       " verify=%s\n",
	       mode, size_mib, pages, done, ops, done < ops, t1 - t0, t2 - t1,
	       t3 - t2, t3 - t0, t2 > t1 ? done / (t2 - t1) : 0.0, mismatches,
	       mismatches ? "FAILED" : "ok");
	return mismatches ? 1 : 0;
}
