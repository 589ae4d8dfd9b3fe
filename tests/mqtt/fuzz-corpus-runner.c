/* SPDX-License-Identifier: MIT */
/* Runs a libFuzzer target over files given on the command line, so the seed corpus is a
 * regression test in every build, not only in fuzzing builds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                static uint8_t buf[1 << 20];
                size_t n;

                if (!f) {
                        perror(argv[i]);
                        return 1;
                }
                n = fread(buf, 1, sizeof(buf), f);
                fclose(f);
                LLVMFuzzerTestOneInput(buf, n);
        }
        return 0;
}
