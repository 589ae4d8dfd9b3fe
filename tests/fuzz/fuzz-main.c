/* SPDX-License-Identifier: MIT */
/* Runs a libFuzzer target over files named on the command line, so that the seed corpus
 * is replayed by every build, also without clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                uint8_t *buf = NULL;
                size_t len = 0, cap = 0;

                if (!f) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                for (;;) {
                        if (len == cap) {
                                cap = cap ? cap * 2 : 4096;
                                uint8_t *nb = realloc(buf, cap);
                                if (!nb) {
                                        free(buf);
                                        fclose(f);
                                        return EXIT_FAILURE;
                                }
                                buf = nb;
                        }
                        size_t k = fread(buf + len, 1, cap - len, f);
                        if (k == 0)
                                break;
                        len += k;
                }
                fclose(f);
                LLVMFuzzerTestOneInput(buf, len);
                free(buf);
        }
        return EXIT_SUCCESS;
}
