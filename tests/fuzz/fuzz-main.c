/* SPDX-License-Identifier: MIT */
/* Without libFuzzer: runs a fuzz target once over each file in the directories named on the
 * command line, so the committed corpus is replayed by the ordinary test suite (any
 * compiler, any sanitizer). */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        long n;
        int r = -1;

        if (!f)
                return -1;
        if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
                buf = malloc(n > 0 ? (size_t) n : 1);
                if (buf && fread(buf, 1, (size_t) n, f) == (size_t) n) {
                        LLVMFuzzerTestOneInput(buf, (size_t) n);
                        r = 0;
                }
        }
        free(buf);
        fclose(f);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                DIR *dir = opendir(argv[i]);
                struct dirent *de;

                if (!dir) {
                        fprintf(stderr, "%s: cannot open\n", argv[i]);
                        return 1;
                }
                while ((de = readdir(dir))) {
                        char path[4096];

                        if (de->d_name[0] == '.')
                                continue;
                        if (snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name) >= (int) sizeof(path) ||
                            run_file(path) < 0) {
                                fprintf(stderr, "%s/%s: cannot read\n", argv[i], de->d_name);
                                closedir(dir);
                                return 1;
                        }
                        n++;
                }
                closedir(dir);
        }
        printf("%u inputs\n", n);
        /* An empty corpus would make this test pass without testing anything. */
        return n > 0 ? 0 : 1;
}
