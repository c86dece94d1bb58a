/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output API for both human text and JSON (the iproute2 habit): callers
 * describe each value once, with a JSON key and a printf format for the
 * text form; print.c either formats the text or builds a json-c tree and
 * writes it when the record ends.  Nothing here writes JSON by hand.
 *
 * Text-only decoration (indentation, labels, newlines) goes through
 * out_text(), which JSON mode ignores.
 */
#ifndef RMEMCTL_PRINT_H
#define RMEMCTL_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Choose the stream and the mode; @pretty indents JSON */
void out_init(FILE *f, bool json, bool pretty);
bool out_is_json(void);

/*
 * A record is one top-level JSON value (one object, printed on its own
 * line: the monitor writes one record per event).  out_begin() opens the
 * root object, out_end() writes it and returns 0, or -1 if memory ran out
 * or the stream failed.  In text mode out_end() only flushes.
 */
void out_begin(void);
int out_end(void);

/* Containers: @key names them inside an object, NULL inside an array */
void out_obj_begin(const char *key);
void out_obj_end(void);
void out_arr_begin(const char *key);
void out_arr_end(void);

/* Values: JSON gets @key = value; text gets fmt applied to the value */
void out_str(const char *key, const char *fmt, const char *val);
void out_u64(const char *key, const char *fmt, uint64_t val);
void out_bool(const char *key, const char *fmt, bool val);
/* JSON: exact bytes as a number; text: fmt applied to "128M" etc. */
void out_size(const char *key, const char *fmt, uint64_t bytes);

/* Text only */
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* RMEMCTL_PRINT_H */
