/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mqtt/thread-bridge.h"
#include "shared/macro.h"

struct ThreadBridge {
        sd_event_source *source;
        int efd;
        BridgeDispatch dispatch;
        BridgeItemFree item_free;
        void *userdata;
        size_t max_bounded;

        /* shared with the pushing threads, under lock */
        pthread_mutex_t lock;
        BridgeItem *head, *tail;
        size_t n_bounded;               /* slots taken: reserved or queued */
        uint64_t new_drops;
        uint64_t drops;                 /* since the start, reported ones included */
};

void thread_bridge_push(ThreadBridge *b, BridgeItem *item) {
        uint64_t one = 1;

        assert(b && item);
        item->next = NULL;
        pthread_mutex_lock(&b->lock);
        if (b->tail)
                b->tail->next = item;
        else
                b->head = item;
        b->tail = item;
        pthread_mutex_unlock(&b->lock);

        /* EAGAIN means the counter is already non-zero: the loop will wake up anyway. */
        (void) !write(b->efd, &one, sizeof(one));
}

bool thread_bridge_reserve(ThreadBridge *b) {
        bool ok;

        pthread_mutex_lock(&b->lock);
        ok = b->n_bounded < b->max_bounded;
        if (ok)
                b->n_bounded++;
        else {
                b->new_drops++;
                b->drops++;
        }
        pthread_mutex_unlock(&b->lock);
        return ok;
}

void thread_bridge_cancel(ThreadBridge *b) {
        pthread_mutex_lock(&b->lock);
        assert(b->n_bounded > 0);
        b->n_bounded--;
        b->new_drops++;
        b->drops++;
        pthread_mutex_unlock(&b->lock);
}

uint64_t thread_bridge_take_drops(ThreadBridge *b) {
        uint64_t n;

        pthread_mutex_lock(&b->lock);
        n = b->new_drops;
        b->new_drops = 0;
        pthread_mutex_unlock(&b->lock);
        return n;
}

uint64_t thread_bridge_drops(ThreadBridge *b) {
        uint64_t n;

        pthread_mutex_lock(&b->lock);
        n = b->drops;
        pthread_mutex_unlock(&b->lock);
        return n;
}

static BridgeItem *pop(ThreadBridge *b) {
        BridgeItem *i;

        pthread_mutex_lock(&b->lock);
        i = b->head;
        if (i) {
                b->head = i->next;
                if (!b->head)
                        b->tail = NULL;
                i->next = NULL;
                if (i->bounded)
                        b->n_bounded--;
        }
        pthread_mutex_unlock(&b->lock);
        return i;
}

void thread_bridge_drain(ThreadBridge *b) {
        for (BridgeItem *i; (i = pop(b)); )
                b->dispatch(i, b->userdata);
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ThreadBridge *b = userdata;
        uint64_t v;

        (void) !read(fd, &v, sizeof(v));
        thread_bridge_drain(b);
        return 0;
}

int thread_bridge_new(ThreadBridge **ret, sd_event *event, size_t max_bounded, BridgeDispatch dispatch,
                      BridgeItemFree item_free, void *userdata) {
        _cleanup_(thread_bridge_freep) ThreadBridge *b = NULL;
        int r;

        assert(ret && event && dispatch && item_free);
        if (max_bounded == 0)
                return -EINVAL;

        b = calloc(1, sizeof(ThreadBridge));
        if (!b)
                return -ENOMEM;
        pthread_mutex_init(&b->lock, NULL);
        b->efd = -EBADF;
        b->max_bounded = max_bounded;
        b->dispatch = dispatch;
        b->item_free = item_free;
        b->userdata = userdata;

        b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->efd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &b->source, b->efd, EPOLLIN, on_efd, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->source, "thread-bridge");

        *ret = TAKE_PTR(b);
        return 0;
}

ThreadBridge *thread_bridge_free(ThreadBridge *b) {
        if (!b)
                return NULL;
        for (BridgeItem *i; (i = pop(b)); )
                b->item_free(i);
        sd_event_source_disable_unref(b->source);
        if (b->efd >= 0)
                close(b->efd);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}
