/* SPDX-License-Identifier: MIT */
/* tphub-speech: renders every phrase of the given protocols into a speech directory, as
 * the build does for the shipped protocols (the daemon renders a user's own protocol
 * itself, in the background). Usage: tphub-speech [--espeak PROG] --out DIR FILE.conf... */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/speech-render.h"
#include "audio/speech-text.h"
#include "config/protocol-load.h"
#include "shared/macro.h"

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "espeak", required_argument, NULL, 'e' },
                { "out", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *espeak = SPEECH_RENDER_DEFAULT_ESPEAK, *out = NULL;
        unsigned rendered = 0, kept = 0;
        int c;

        while ((c = getopt_long(argc, argv, "e:o:h", opts, NULL)) >= 0)
                switch (c) {
                case 'e':
                        espeak = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'h':
                        printf("Usage: %s [--espeak PROG] --out DIR PROTOCOL.conf...\n", argv[0]);
                        return 0;
                default:
                        return 2;
                }
        if (!out || optind >= argc) {
                fprintf(stderr, "Usage: %s [--espeak PROG] --out DIR PROTOCOL.conf...\n", argv[0]);
                return 2;
        }
        if (mkdir(out, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "%s: %m\n", out);
                return 1;
        }

        for (int i = optind; i < argc; i++) {
                _cleanup_(protocol_freep) Protocol *p = NULL;
                ConfigErrors errs = {};
                char **texts = NULL;
                int n;

                if (protocol_load(argv[i], &p, &errs) < 0) {
                        for (size_t e = 0; e < errs.n; e++)
                                fprintf(stderr, "%s\n", errs.msgs[e]);
                        if (errs.n == 0)
                                fprintf(stderr, "%s: cannot load\n", argv[i]);
                        config_errors_clear(&errs);
                        return 1;
                }
                config_errors_clear(&errs);
                n = speech_protocol_texts(p, &texts);
                if (n < 0) {
                        fprintf(stderr, "Out of memory.\n");
                        return 1;
                }
                for (int k = 0; k < n; k++) {
                        char key[SPEECH_KEY_LEN + 1], err[256] = "";
                        const char *voice = speech_voice(p);
                        int r;

                        speech_key(voice, texts[k], key);
                        if (speech_stored(out, key, voice, texts[k])) {
                                kept++;
                                continue;
                        }
                        r = speech_render(espeak, voice, texts[k], out, key, err, sizeof(err));
                        if (r < 0) {
                                fprintf(stderr, "%s: \"%s\": %s\n", argv[i], texts[k], err);
                                speech_texts_free(texts, (size_t) n);
                                return 1;
                        }
                        rendered++;
                }
                speech_texts_free(texts, (size_t) n);
        }
        printf("%u phrases rendered, %u kept, in %s\n", rendered, kept, out);
        return 0;
}
