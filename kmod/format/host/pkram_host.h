/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the shared format code gets from the kernel, for the host build
 * (unit tests, fuzzer). Host-only: not part of the module.
 */
#ifndef PKRAM_HOST_H
#define PKRAM_HOST_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define __packed	__attribute__((packed))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define popcount64(x)	__builtin_popcountll(x)
#define ctz64(x)	__builtin_ctzll(x)
#define pkram_fmt_yield()	do { } while (0)
#define pkram_fmt_alloc(n)	malloc(n)
#define pkram_fmt_free(p)	free(p)

#endif /* PKRAM_HOST_H */
