/*
 * unicode_class.h - the two Unicode character classes go-yaml v2's key
 * order uses (Go's unicode.IsLetter and unicode.IsDigit). Internal to
 * render/.
 */
#ifndef GFS_UNICODE_CLASS_H
#define GFS_UNICODE_CLASS_H

#include <stdbool.h>
#include <stdint.h>

/* General category L* (Lu, Ll, Lt, Lm, Lo). */
bool gfs_unicode_is_letter(uint32_t c);
/* General category Nd (decimal digits of every script). */
bool gfs_unicode_is_digit(uint32_t c);

#endif
