/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/speech-render.h"
#include "shared/macro.h"

extern char **environ;

char *speech_stored_text(const char *voice, const char *text) {
        char *s = NULL;

        return asprintf(&s, "%s\n%s", voice, text) < 0 ? NULL : s;
}

bool speech_stored(const char *dir, const char *key, const char *voice, const char *text) {
        _cleanup_free_ char *txt = NULL, *wav = NULL, *want = NULL, *have = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t len;

        if (asprintf(&txt, "%s/%s.txt", dir, key) < 0 || asprintf(&wav, "%s/%s.wav", dir, key) < 0) {
                txt = wav = NULL;
                return false;
        }
        want = speech_stored_text(voice, text);
        if (!want || access(wav, R_OK) < 0)
                return false;
        f = fopen(txt, "re");
        if (!f)
                return false;
        len = strlen(want);
        have = malloc(len + 2);
        if (!have)
                return false;
        /* one byte more than wanted: a longer file is another text */
        return fread(have, 1, len + 1, f) == len && memcmp(have, want, len) == 0;
}

static int write_file(const char *path, const char *data, size_t len) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return negative_errno();
        for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, data + off, len - off);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                off += (size_t) w;
        }
        return 0;
}

int speech_render(const char *espeak, const char *voice, const char *text, const char *dir,
                  const char *key, char *errbuf, size_t errlen) {
        _cleanup_free_ char *tmp_wav = NULL, *wav = NULL, *tmp_txt = NULL, *txt = NULL, *stored = NULL;
        posix_spawn_file_actions_t fa;
        char *argv[] = { (char *) espeak, "-v", (char *) voice, "-w", NULL, "--", (char *) text, NULL };
        pid_t pid;
        int r, status;

        if (!espeak || !voice || !text || !dir || !key)
                return -EINVAL;
        if (asprintf(&tmp_wav, "%s/.%s.wav.%d", dir, key, (int) getpid()) < 0 ||
            asprintf(&wav, "%s/%s.wav", dir, key) < 0 ||
            asprintf(&tmp_txt, "%s/.%s.txt.%d", dir, key, (int) getpid()) < 0 ||
            asprintf(&txt, "%s/%s.txt", dir, key) < 0)
                return -ENOMEM;
        argv[4] = tmp_wav;

        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawnp(&pid, espeak, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                if (errbuf)
                        snprintf(errbuf, errlen, "cannot run %s: %s", espeak, strerror(r));
                return -r;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (errbuf)
                        snprintf(errbuf, errlen, "%s -v %s %s %d", espeak, voice,
                                 WIFEXITED(status) ? "exited with" : "killed by signal",
                                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                (void) unlink(tmp_wav);
                return -EPROTO;
        }

        /* the text first: a wav without its text is never taken, a text without its wav neither */
        stored = speech_stored_text(voice, text);
        if (!stored)
                return -ENOMEM;
        if ((r = write_file(tmp_txt, stored, strlen(stored))) < 0 ||
            (rename(tmp_txt, txt) < 0 && (r = negative_errno()) < 0) ||
            (rename(tmp_wav, wav) < 0 && (r = negative_errno()) < 0)) {
                if (errbuf)
                        snprintf(errbuf, errlen, "cannot store %s: %s", wav, strerror(-r));
                (void) unlink(tmp_txt);
                (void) unlink(tmp_wav);
                return r;
        }
        return 0;
}
