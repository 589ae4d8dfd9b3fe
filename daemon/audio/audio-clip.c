/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio-clip.h"
#include "shared/macro.h"

struct AudioClip {
        unsigned n_ref;
        unsigned rate;
        size_t n;
        int16_t samples[];
};

#define CLIP_MAX_BYTES (64u << 20)   /* a minute of speech is 2.6 MB: this is a broken file */

static int bad(char *errbuf, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int bad(char *errbuf, size_t errlen, const char *fmt, ...) {
        va_list ap;

        if (errbuf && errlen > 0) {
                va_start(ap, fmt);
                vsnprintf(errbuf, errlen, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

int audio_clip_new(const int16_t *samples, size_t n, unsigned rate, AudioClip **ret) {
        AudioClip *c;

        if (!ret || rate == 0 || (n > 0 && !samples) || n > CLIP_MAX_BYTES / 2)
                return -EINVAL;
        c = malloc(sizeof(*c) + n * sizeof(int16_t));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->rate = rate;
        c->n = n;
        if (n > 0)
                memcpy(c->samples, samples, n * sizeof(int16_t));
        *ret = c;
        return 0;
}

int audio_clip_parse(const uint8_t *d, size_t size, AudioClip **ret, char *errbuf, size_t errlen) {
        const uint8_t *fmt = NULL, *data = NULL;
        size_t data_len = 0, pos = 12;
        AudioClip *c;

        if (!d || !ret)
                return -EINVAL;
        if (size < 12 || memcmp(d, "RIFF", 4) != 0 || memcmp(d + 8, "WAVE", 4) != 0)
                return bad(errbuf, errlen, "not a RIFF/WAVE file");

        /* chunks: id, little-endian size, payload padded to even size */
        while (pos + 8 <= size) {
                uint32_t len = le32(d + pos + 4);
                const uint8_t *payload = d + pos + 8;
                size_t avail = size - pos - 8;

                if (memcmp(d + pos, "fmt ", 4) == 0) {
                        if (len < 16 || len > avail)
                                return bad(errbuf, errlen, "truncated fmt chunk");
                        fmt = payload;
                } else if (memcmp(d + pos, "data", 4) == 0) {
                        /* writers streaming to a pipe leave the size open (0 or ~0): take what is there */
                        data = payload;
                        data_len = len == 0 || len > avail ? avail : len;
                        break;
                }
                if (len > avail)
                        return bad(errbuf, errlen, "truncated chunk");
                pos += 8 + (size_t) len + (len & 1);
        }
        if (!fmt)
                return bad(errbuf, errlen, "no fmt chunk");
        if (!data)
                return bad(errbuf, errlen, "no data chunk");
        if (le16(fmt) != 1)
                return bad(errbuf, errlen, "not PCM (format %u)", le16(fmt));
        if (le16(fmt + 2) != 1)
                return bad(errbuf, errlen, "%u channels, want mono", le16(fmt + 2));
        if (le16(fmt + 14) != 16)
                return bad(errbuf, errlen, "%u bits per sample, want 16", le16(fmt + 14));
        if (le32(fmt + 4) < 8000 || le32(fmt + 4) > 192000)
                return bad(errbuf, errlen, "sample rate %u out of range", le32(fmt + 4));
        if (data_len > CLIP_MAX_BYTES)
                return bad(errbuf, errlen, "%zu bytes of audio: too long for a clip", data_len);

        c = malloc(sizeof(*c) + data_len / 2 * sizeof(int16_t));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->rate = le32(fmt + 4);
        c->n = data_len / 2;
        for (size_t i = 0; i < c->n; i++)
                c->samples[i] = (int16_t) le16(data + 2 * i);
        *ret = c;
        return 0;
}

int audio_clip_load(const char *path, AudioClip **ret, char *errbuf, size_t errlen) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0, cap = 0;

        if (!path || !ret)
                return -EINVAL;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        for (;;) {
                size_t got;

                if (n == cap) {
                        uint8_t *nb;

                        if (cap >= CLIP_MAX_BYTES + 4096)
                                return bad(errbuf, errlen, "file too large for a clip");
                        cap = cap ? cap * 2 : 65536;
                        nb = realloc(buf, cap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                got = fread(buf + n, 1, cap - n, f);
                n += got;
                if (got == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }
        return audio_clip_parse(buf, n, ret, errbuf, errlen);
}

AudioClip *audio_clip_ref(AudioClip *c) {
        if (c)
                c->n_ref++;
        return c;
}

AudioClip *audio_clip_unref(AudioClip *c) {
        if (c && --c->n_ref == 0)
                free(c);
        return NULL;
}

unsigned audio_clip_rate(const AudioClip *c) {
        return c ? c->rate : 0;
}

size_t audio_clip_frames(const AudioClip *c) {
        return c ? c->n : 0;
}

const int16_t *audio_clip_samples(const AudioClip *c) {
        return c ? c->samples : NULL;
}
