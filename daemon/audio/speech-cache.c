/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/speech-cache.h"
#include "audio/speech-render.h"
#include "audio/speech-text.h"
#include "shared/fs-util.h"
#include "shared/macro.h"

#define WORKER_NICE 10

typedef enum EntryState { ENTRY_QUEUED, ENTRY_STORED, ENTRY_READY, ENTRY_FAILED } EntryState;

typedef struct Entry {
        char key[SPEECH_KEY_LEN + 1];
        char *voice, *text;
        EntryState state;
        AudioClip *clip;
} Entry;

/* A job for the worker and, filled in, its result. */
typedef struct Job {
        struct Job *next;
        char key[SPEECH_KEY_LEN + 1];
        char *voice, *text;
        AudioClip *clip;
        bool load;
        int error;
        bool rendered;
        char why[256];
} Job;

struct SpeechCache {
        sd_event *event;
        sd_event_source *done_source;
        int efd;
        char *speech_dir, *cache_dir, *espeak;
        unsigned rate;
        SpeechCacheDoneFn done;
        void *userdata;

        Entry *entries;
        size_t n_entries, cap_entries;
        unsigned pending;

        pthread_t worker;
        bool worker_started;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;
        Job *todo, **todo_tail;
        Job *finished;
};

static void job_free(Job *j) {
        if (!j)
                return;
        free(j->voice);
        free(j->text);
        audio_clip_unref(j->clip);
        free(j);
}

/* On the worker: find or render, then load. */
static void job_run(SpeechCache *c, Job *j) {
        const char *dir = NULL;
        _cleanup_free_ char *path = NULL;
        char err[200] = "";
        int r;

        if (c->speech_dir && speech_stored(c->speech_dir, j->key, j->voice, j->text))
                dir = c->speech_dir;
        else if (speech_stored(c->cache_dir, j->key, j->voice, j->text))
                dir = c->cache_dir;
        else {
                r = mkdir_p(c->cache_dir, 0755);
                if (r < 0) {
                        j->error = r;
                        snprintf(j->why, sizeof(j->why), "cannot create %s: %s", c->cache_dir, strerror(-r));
                        return;
                }
                r = speech_render(c->espeak, j->voice, j->text, c->cache_dir, j->key, err, sizeof(err));
                if (r < 0) {
                        j->error = r;
                        snprintf(j->why, sizeof(j->why), "%s", err);
                        return;
                }
                j->rendered = true;
                dir = c->cache_dir;
        }
        if (!j->load)
                return;
        if (asprintf(&path, "%s/%s.wav", dir, j->key) < 0) {
                path = NULL;
                j->error = -ENOMEM;
                return;
        }
        r = audio_clip_load(path, &j->clip, err, sizeof(err));
        if (r < 0) {
                j->error = r;
                snprintf(j->why, sizeof(j->why), "%s: %s", path, r == -EBADMSG ? err : strerror(-r));
                return;
        }
        if (audio_clip_rate(j->clip) != c->rate) {
                j->error = -EINVAL;
                snprintf(j->why, sizeof(j->why), "%s: %u Hz, the player runs at %u Hz", path,
                         audio_clip_rate(j->clip), c->rate);
                j->clip = audio_clip_unref(j->clip);
        }
}

static void *worker_main(void *userdata) {
        SpeechCache *c = userdata;
        struct sched_param sp = { .sched_priority = 0 };

        /* the daemon runs round-robin: this thread (and espeak-ng, which inherits it) must not */
        (void) pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
        (void) setpriority(PRIO_PROCESS, (id_t) gettid(), WORKER_NICE);

        pthread_mutex_lock(&c->lock);
        for (;;) {
                Job *j;
                uint64_t one = 1;

                while (!c->stop && !c->todo)
                        pthread_cond_wait(&c->wake, &c->lock);
                if (c->stop)
                        break;
                j = c->todo;
                c->todo = j->next;
                if (!c->todo)
                        c->todo_tail = &c->todo;
                pthread_mutex_unlock(&c->lock);

                job_run(c, j);

                pthread_mutex_lock(&c->lock);
                j->next = c->finished;
                c->finished = j;
                (void) !write(c->efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

static Entry *find(SpeechCache *c, const char *key, const char *voice, const char *text) {
        for (size_t i = 0; i < c->n_entries; i++) {
                Entry *e = &c->entries[i];

                if (strcmp(e->key, key) == 0 && strcmp(e->voice, voice) == 0 && strcmp(e->text, text) == 0)
                        return e;
        }
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        SpeechCache *c = userdata;
        uint64_t n;
        Job *list;

        (void) !read(c->efd, &n, sizeof(n));
        pthread_mutex_lock(&c->lock);
        list = c->finished;
        c->finished = NULL;
        pthread_mutex_unlock(&c->lock);

        while (list) {
                Job *j = list;
                Entry *e = find(c, j->key, j->voice, j->text);

                list = j->next;
                if (e) {
                        e->state = j->error < 0 ? ENTRY_FAILED : j->clip ? ENTRY_READY : ENTRY_STORED;
                        e->clip = TAKE_PTR(j->clip);
                }
                if (c->pending > 0)
                        c->pending--;
                if (c->done)
                        c->done(j->voice, j->text, j->error, j->rendered, j->why, c->userdata);
                job_free(j);
        }
        return 0;
}

static int queue_job(SpeechCache *c, const char *key, const char *voice, const char *text, bool load) {
        Job *j = calloc(1, sizeof(*j));

        if (!j)
                return -ENOMEM;
        memcpy(j->key, key, SPEECH_KEY_LEN + 1);
        j->voice = strdup(voice);
        j->text = strdup(text);
        j->load = load;
        if (!j->voice || !j->text) {
                job_free(j);
                return -ENOMEM;
        }
        c->pending++;
        pthread_mutex_lock(&c->lock);
        *c->todo_tail = j;
        c->todo_tail = &j->next;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        return 1;
}

int speech_cache_want(SpeechCache *c, const char *voice, const char *text, bool load) {
        char key[SPEECH_KEY_LEN + 1];
        Entry *e;
        int r;

        if (!c || !voice || !text)
                return -EINVAL;
        speech_key(voice, text, key);
        e = find(c, key, voice, text);
        if (e) {
                if (!load || e->state != ENTRY_STORED)
                        return 0;
                r = queue_job(c, key, voice, text, true);
                if (r > 0)
                        e->state = ENTRY_QUEUED;
                return r;
        }

        if (c->n_entries == c->cap_entries) {
                size_t cap = c->cap_entries ? c->cap_entries * 2 : 64;
                Entry *ne = realloc(c->entries, cap * sizeof(Entry));

                if (!ne)
                        return -ENOMEM;
                c->entries = ne;
                c->cap_entries = cap;
        }
        e = &c->entries[c->n_entries];
        *e = (Entry) { .state = ENTRY_QUEUED, .voice = strdup(voice), .text = strdup(text) };
        memcpy(e->key, key, sizeof(key));
        if (!e->voice || !e->text) {
                free(e->voice);
                free(e->text);
                return -ENOMEM;
        }
        r = queue_job(c, key, voice, text, load);
        if (r < 0) {
                free(e->voice);
                free(e->text);
                return r;
        }
        c->n_entries++;
        return 1;
}

AudioClip *speech_cache_get(SpeechCache *c, const char *voice, const char *text) {
        char key[SPEECH_KEY_LEN + 1];
        Entry *e;

        if (!c || !voice || !text)
                return NULL;
        speech_key(voice, text, key);
        e = find(c, key, voice, text);
        return e && e->state == ENTRY_READY ? e->clip : NULL;
}

unsigned speech_cache_pending(const SpeechCache *c) {
        return c ? c->pending : 0;
}

SpeechCache *speech_cache_free(SpeechCache *c) {
        if (!c)
                return NULL;
        if (c->worker_started) {
                pthread_mutex_lock(&c->lock);
                c->stop = true;
                pthread_cond_signal(&c->wake);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->worker, NULL);
        }
        while (c->todo) {
                Job *j = c->todo;

                c->todo = j->next;
                job_free(j);
        }
        while (c->finished) {
                Job *j = c->finished;

                c->finished = j->next;
                job_free(j);
        }
        for (size_t i = 0; i < c->n_entries; i++) {
                free(c->entries[i].voice);
                free(c->entries[i].text);
                audio_clip_unref(c->entries[i].clip);
        }
        free(c->entries);
        sd_event_source_disable_unref(c->done_source);
        if (c->efd >= 0)
                close(c->efd);
        sd_event_unref(c->event);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        free(c->speech_dir);
        free(c->cache_dir);
        free(c->espeak);
        free(c);
        return NULL;
}

int speech_cache_new(SpeechCache **ret, sd_event *event, const SpeechCacheParams *params,
                     SpeechCacheDoneFn done, void *userdata) {
        _cleanup_(speech_cache_freep) SpeechCache *c = NULL;
        int r;

        if (!ret || !event || !params || !params->cache_dir || !params->espeak || params->rate == 0)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->efd = -EBADF;
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->wake, NULL);
        c->todo_tail = &c->todo;
        c->event = sd_event_ref(event);
        c->rate = params->rate;
        c->done = done;
        c->userdata = userdata;
        if ((params->speech_dir && !(c->speech_dir = strdup(params->speech_dir))) ||
            !(c->cache_dir = strdup(params->cache_dir)) || !(c->espeak = strdup(params->espeak)))
                return -ENOMEM;

        c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &c->done_source, c->efd, EPOLLIN, on_done, c);
        if (r < 0)
                return r;
        r = pthread_create(&c->worker, NULL, worker_main, c);
        if (r != 0)
                return -r;
        c->worker_started = true;
        *ret = TAKE_PTR(c);
        return 0;
}
