/* SPDX-License-Identifier: MIT */
/* The thread bridge without a broker: items pushed by several threads reach the loop thread,
 * each thread's in its push order; bounded items stop at the limit, count their drops and free
 * their slot when dispatched; a push wakes a loop that is waiting; freeing the bridge frees
 * what was never dispatched. */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <systemd/sd-event.h>

#include "mqtt/thread-bridge.h"
#include "tap.h"

#define THREADS 4
#define PER_THREAD 2000

typedef struct Item {
        BridgeItem item;
        unsigned thread, seq;
} Item;

typedef struct Seen {
        pthread_t loop_thread;
        unsigned n, next_seq[THREADS];
        unsigned out_of_order, off_thread;
        unsigned freed;
} Seen;

static void on_item(BridgeItem *i, void *userdata) {
        Seen *s = userdata;
        Item *it = (Item *) i;

        if (!pthread_equal(pthread_self(), s->loop_thread))
                s->off_thread++;
        if (it->seq != s->next_seq[it->thread])
                s->out_of_order++;
        s->next_seq[it->thread] = it->seq + 1;
        s->n++;
        free(it);
}

static unsigned n_freed;

static void item_free(BridgeItem *i) {
        n_freed++;
        free(i);
}

static Item *item_new(unsigned thread, unsigned seq, bool bounded) {
        Item *it = calloc(1, sizeof(Item));

        if (it) {
                it->thread = thread;
                it->seq = seq;
                it->item.bounded = bounded;
        }
        return it;
}

typedef struct Pusher {
        ThreadBridge *b;
        unsigned thread;
} Pusher;

static void *push_many(void *arg) {
        Pusher *p = arg;

        for (unsigned k = 0; k < PER_THREAD; k++) {
                Item *it = item_new(p->thread, k, false);
                if (!it)
                        abort();
                thread_bridge_push(p->b, &it->item);
        }
        return NULL;
}

static void test_order_across_threads(void) {
        sd_event *e = NULL;
        ThreadBridge *b = NULL;
        Seen s = { .loop_thread = pthread_self() };
        pthread_t t[THREADS];
        Pusher p[THREADS];

        CHECK(sd_event_new(&e) >= 0);
        CHECK(thread_bridge_new(&b, e, 10, on_item, item_free, &s) == 0);
        for (unsigned i = 0; i < THREADS; i++) {
                p[i] = (Pusher) { b, i };
                CHECK(pthread_create(&t[i], NULL, push_many, &p[i]) == 0);
        }
        /* The loop runs while they push: the items come through its io source. */
        for (unsigned rounds = 0; s.n < THREADS * PER_THREAD && rounds < 100000; rounds++)
                CHECK(sd_event_run(e, 5 * 1000 * 1000) >= 0);
        for (unsigned i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);

        CHECK_EQ(s.n, THREADS * PER_THREAD);
        for (unsigned i = 0; i < THREADS; i++)
                CHECK_EQ(s.next_seq[i], PER_THREAD);
        CHECK_EQ(s.out_of_order, 0);
        CHECK_EQ(s.off_thread, 0);
        CHECK_EQ(thread_bridge_drops(b), 0);
        thread_bridge_free(b);
        sd_event_unref(e);
}

static void test_bounded(void) {
        sd_event *e = NULL;
        ThreadBridge *b = NULL;
        Seen s = { .loop_thread = pthread_self() };

        CHECK(sd_event_new(&e) >= 0);
        CHECK(thread_bridge_new(&b, e, 3, on_item, item_free, &s) == 0);

        /* Three slots; the fourth reservation is a drop. */
        for (unsigned k = 0; k < 3; k++) {
                CHECK(thread_bridge_reserve(b));
                Item *it = item_new(0, k, true);
                CHECK(it);
                thread_bridge_push(b, &it->item);
        }
        CHECK(!thread_bridge_reserve(b));
        CHECK(!thread_bridge_reserve(b));
        /* Unbounded items are never refused. */
        Item *free_item = item_new(1, 0, false);
        CHECK(free_item);
        thread_bridge_push(b, &free_item->item);
        CHECK_EQ(thread_bridge_take_drops(b), 2);
        CHECK_EQ(thread_bridge_take_drops(b), 0);
        CHECK_EQ(thread_bridge_drops(b), 2);

        /* Dispatching gives the slots back. */
        thread_bridge_drain(b);
        CHECK_EQ(s.n, 4);
        CHECK_EQ(s.next_seq[0], 3);
        for (unsigned k = 0; k < 3; k++)
                CHECK(thread_bridge_reserve(b));
        CHECK(!thread_bridge_reserve(b));
        /* A slot given back unused (the item could not be made) is a drop too. */
        thread_bridge_cancel(b);
        CHECK(thread_bridge_reserve(b));
        CHECK_EQ(thread_bridge_take_drops(b), 2);
        CHECK_EQ(thread_bridge_drops(b), 4);

        thread_bridge_free(b);
        sd_event_unref(e);
}

static void *push_one(void *arg) {
        Pusher *p = arg;
        Item *it = item_new(p->thread, 0, false);

        if (!it)
                abort();
        thread_bridge_push(p->b, &it->item);
        return NULL;
}

static void test_push_wakes_loop(void) {
        sd_event *e = NULL;
        ThreadBridge *b = NULL;
        Seen s = { .loop_thread = pthread_self() };
        Pusher p;
        pthread_t t;

        CHECK(sd_event_new(&e) >= 0);
        CHECK(thread_bridge_new(&b, e, 1, on_item, item_free, &s) == 0);
        p = (Pusher) { b, 2 };
        CHECK(pthread_create(&t, NULL, push_one, &p) == 0);
        /* Nothing else can end this wait (60 s) but the bridge's eventfd. */
        while (s.n == 0)
                CHECK(sd_event_run(e, 60ULL * 1000 * 1000) > 0);
        pthread_join(t, NULL);
        CHECK_EQ(s.n, 1);
        CHECK_EQ(s.next_seq[2], 1);
        thread_bridge_free(b);
        sd_event_unref(e);
}

static void test_free_undispatched(void) {
        sd_event *e = NULL;
        ThreadBridge *b = NULL;
        Seen s = { .loop_thread = pthread_self() };

        CHECK(sd_event_new(&e) >= 0);
        CHECK(thread_bridge_new(&b, e, 2, on_item, item_free, &s) == 0);
        n_freed = 0;
        for (unsigned k = 0; k < 5; k++) {
                bool bounded = k < 2 && thread_bridge_reserve(b);
                Item *it = item_new(0, k, bounded);
                CHECK(it);
                thread_bridge_push(b, &it->item);
        }
        thread_bridge_free(b);
        CHECK_EQ(n_freed, 5);
        CHECK_EQ(s.n, 0);
        sd_event_unref(e);
}

static void test_bad_arguments(void) {
        sd_event *e = NULL;
        ThreadBridge *b = NULL;
        Seen s = {};

        CHECK(sd_event_new(&e) >= 0);
        CHECK_EQ(thread_bridge_new(&b, e, 0, on_item, item_free, &s), -EINVAL);
        CHECK(!b);
        CHECK(!thread_bridge_free(NULL));
        sd_event_unref(e);
}

static const TapCase cases[] = {
        { "order_across_threads", test_order_across_threads },
        { "bounded", test_bounded },
        { "push_wakes_loop", test_push_wakes_loop },
        { "free_undispatched", test_free_undispatched },
        { "bad_arguments", test_bad_arguments },
};

TAP_MAIN(cases)
