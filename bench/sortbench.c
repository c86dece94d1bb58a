// SPDX-License-Identifier: GPL-2.0
/*
 * sortbench: sort an in-memory array of random u64 and check the result, as
 * an application whose working set may not fit in local memory.
 *
 * The sort is our own in-place introsort rather than qsort(3): glibc's qsort
 * allocates a second buffer as large as the array when it thinks physical
 * memory allows, and it cannot see a cgroup's memory.max, so the footprint
 * would differ from run to run.  In place, the footprint is the array.
 *
 * Correctness: the sum and xor of all values are taken before and after, and
 * the array must come out non-decreasing; any failure exits 1.
 *
 * Output: one line of key=value pairs on stdout, read by bench/report.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));

	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static void swap_u64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

static void insertion_sort(uint64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t v = a[i];
		size_t j = i;

		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

static void sift_down(uint64_t *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;

		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		swap_u64(&a[root], &a[child]);
		root = child;
	}
}

/* The fallback that bounds introsort's worst case to n log n. */
static void heap_sort(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t i = n; i-- > 1;) {
		swap_u64(&a[0], &a[i]);
		sift_down(a, 0, i);
	}
}

static void intro_sort(uint64_t *a, size_t n, unsigned depth)
{
	while (n > 24) {
		size_t i, j, mid = n / 2;
		uint64_t pivot;

		if (!depth--) {
			heap_sort(a, n);
			return;
		}
		/* Median of three, left in a[mid]. */
		if (a[mid] < a[0])
			swap_u64(&a[mid], &a[0]);
		if (a[n - 1] < a[0])
			swap_u64(&a[n - 1], &a[0]);
		if (a[n - 1] < a[mid])
			swap_u64(&a[n - 1], &a[mid]);
		pivot = a[mid];
		/* Hoare partition: two sequential scans, kind to swap. */
		i = 0;
		j = n - 1;
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap_u64(&a[i], &a[j]);
			i++;
			j--;
		}
		/* Recurse into the smaller side, loop on the larger: the
		 * stack stays O(log n). */
		if (j + 1 < n - j - 1) {
			intro_sort(a, j + 1, depth);
			a += j + 1;
			n -= j + 1;
		} else {
			intro_sort(a + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	insertion_sort(a, n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

static void usage(FILE *f)
{
	fprintf(f, "usage: sortbench --size MIB [--seed S]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size_mib = 0, seed = 1, sum0 = 0, xor0 = 0, sum1 = 0, xor1 = 0;
	uint64_t unsorted = 0;
	size_t n, depth = 0;
	double t0, t1, t2, t3;
	uint64_t *a;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &size_mib) || !size_mib ||
			    size_mib > (UINT64_C(1) << 24)) {
				fprintf(stderr, "sortbench: bad --size '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'S':
			if (parse_u64(optarg, &seed)) {
				fprintf(stderr, "sortbench: bad --seed '%s'\n",
					optarg);
				return 2;
			}
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

	n = size_mib * 1024 * 1024 / sizeof(uint64_t);
	a = mmap(NULL, n * sizeof(*a), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED) {
		perror("sortbench: mmap");
		return 1;
	}
	/* Swap is per 4 KiB page; keep THP out so all devices see the same
	 * unit. */
	madvise(a, n * sizeof(*a), MADV_NOHUGEPAGE);

	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		a[i] = splitmix64(&seed);
		sum0 += a[i];
		xor0 ^= a[i];
	}
	t1 = now_s();
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	intro_sort(a, n, depth);
	t2 = now_s();
	for (size_t i = 0; i < n; i++) {
		sum1 += a[i];
		xor1 ^= a[i];
		if (i && a[i - 1] > a[i])
			unsorted++;
	}
	t3 = now_s();

	printf("sortbench size_mib=%" PRIu64 " elements=%zu fill_s=%.3f"
	       " sort_s=%.3f check_s=%.3f total_s=%.3f unsorted=%" PRIu64
	       " checksum=%s verify=%s\n",
	       size_mib, n, t1 - t0, t2 - t1, t3 - t2, t3 - t0, unsorted,
	       sum0 == sum1 && xor0 == xor1 ? "ok" : "MISMATCH",
	       !unsorted && sum0 == sum1 && xor0 == xor1 ? "ok" : "FAILED");
	return !unsorted && sum0 == sum1 && xor0 == xor1 ? 0 : 1;
}
