/* SPDX-License-Identifier: MIT */
#pragma once

/* Hands items from other threads (Paho's) to the sd-event loop.
 *
 * Any thread pushes an item: it is linked into a mutex-protected FIFO and an eventfd is
 * written. An io source on that eventfd drains the FIFO on the loop thread and passes each
 * item, in push order, to the dispatch callback, which then owns it. So the loop's state is
 * only ever touched on the loop thread, and a pushing thread never waits for the loop.
 *
 * Items of one kind (incoming messages: a flood must not eat the memory while the loop is
 * stuck) can be bounded: thread_bridge_reserve() takes a slot before the item is made and
 * fails, counting a drop, when max_bounded items are waiting. The bridge knows nothing of
 * MQTT. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

typedef struct ThreadBridge ThreadBridge;

/* Embed as the first member of the queued struct. */
typedef struct BridgeItem {
        struct BridgeItem *next;
        bool bounded;            /* holds a slot taken by thread_bridge_reserve() */
} BridgeItem;

/* Loop thread; owns item from here on. */
typedef void (*BridgeDispatch)(BridgeItem *item, void *userdata);
/* Frees an item that was never dispatched (thread_bridge_free()). */
typedef void (*BridgeItemFree)(BridgeItem *item);

/* max_bounded: how many bounded items may wait (> 0). */
int thread_bridge_new(ThreadBridge **ret, sd_event *event, size_t max_bounded, BridgeDispatch dispatch,
                      BridgeItemFree item_free, void *userdata);
/* Frees the items still queued with item_free, without dispatching them. No other thread
 * may push any more. */
ThreadBridge *thread_bridge_free(ThreadBridge *b);
static inline void thread_bridge_freep(ThreadBridge **b) {
        if (*b)
                thread_bridge_free(*b);
}

/* Any thread. Links item (item->bounded set by the caller if it holds a slot) and wakes
 * the loop. */
void thread_bridge_push(ThreadBridge *b, BridgeItem *item);
/* Any thread. Takes a slot for a bounded item; false (and one more drop counted) when
 * max_bounded are waiting. */
bool thread_bridge_reserve(ThreadBridge *b);
/* Any thread. Gives back a slot that no item was pushed with (the item could not be made):
 * counted as a drop. */
void thread_bridge_cancel(ThreadBridge *b);

/* Loop thread. Drops since the last call (to report them once), and since the start. */
uint64_t thread_bridge_take_drops(ThreadBridge *b);
uint64_t thread_bridge_drops(ThreadBridge *b);

/* Loop thread. Dispatches what is queued now (as the io source would). */
void thread_bridge_drain(ThreadBridge *b);
