/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "shared/macro.h"
#include "store/atomic-file.h"

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int replace_at(int dir_fd, const char *name, const char *tmp_prefix, const void *data, size_t len,
                      mode_t mode, bool sync) {
        _cleanup_free_ char *tmp = NULL;
        int fd, r;

        if (dir_fd < 0 || !name || !*name || strchr(name, '/') || !tmp_prefix || !*tmp_prefix)
                return -EINVAL;
        if (asprintf(&tmp, "%s%s", tmp_prefix, name) < 0)
                return -ENOMEM;

        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno == EEXIST) {
                /* A temp file left by a crash: it never became visible, drop it. */
                (void) unlinkat(dir_fd, tmp, 0);
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        }
        if (fd < 0)
                return negative_errno();

        r = write_all(fd, data, len);
        if (r >= 0 && sync && fsync(fd) < 0)
                r = negative_errno();
        /* close() can report a deferred write error (NFS, some FUSE): count it. */
        if (close(fd) < 0 && r >= 0 && errno != EINTR)
                r = negative_errno();
        if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }

        if (sync && fsync(dir_fd) < 0)
                return negative_errno();
        return 0;
}

int atomic_file_write_at(int dir_fd, const char *name, const char *tmp_prefix,
                         const void *data, size_t len, mode_t mode) {
        return replace_at(dir_fd, name, tmp_prefix, data, len, mode, true);
}

int atomic_file_replace_at(int dir_fd, const char *name, const char *tmp_prefix,
                           const void *data, size_t len, mode_t mode) {
        return replace_at(dir_fd, name, tmp_prefix, data, len, mode, false);
}

int atomic_file_read_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (dir_fd < 0 || !name || strchr(name, '/') || !ret)
                return -EINVAL;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((size_t) st.st_size > max)
                return -EFBIG;

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (len < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;  /* shrank under us: return what is there */
                len += (size_t) n;
        }
        buf[len] = 0;

        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}
