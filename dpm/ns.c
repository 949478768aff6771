/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name service engine (see ns.h): published services in a chained hash
 * table, waiting lookups in a binary min-heap ordered by deadline (then
 * arrival), so that expiry and the next deadline are cheap. Lookups are
 * answered from a detached list, which keeps the engine consistent when
 * the reply callback calls back into it.
 */
#include "dpm/ns.h"

#include <stdlib.h>
#include <string.h>

/****************/
/* Local Macros */
/****************/

/* Buckets of the service table (power of two): chains stay short up to
 * FW_NS_MAX_ENTRIES (16 on average). */
#define FW_NS_NBUCKETS 4096u

/****************/
/* Local Types  */
/****************/

typedef struct fw_ns_entry {
    struct fw_ns_entry *next; /* bucket chain */
    uint32_t hash;
    const char *owner; /* both point into this block */
    const char *port;
    char service[];
} fw_ns_entry_t;

typedef struct fw_ns_wait {
    uint64_t deadline;
    uint64_t seq; /* arrival order, breaks deadline ties */
    size_t idx;   /* slot in the heap; SIZE_MAX once detached */
    struct fw_ns_wait *next; /* in a fire list once detached */
    uint32_t hash;
    fw_ns_cookie_t cookie;
    char service[];
} fw_ns_wait_t;

/* Lookups being answered by one fw_ns_publish/expire call; nested calls
 * from the reply callback stack up. */
typedef struct fw_ns_fire {
    fw_ns_wait_t *head;
    struct fw_ns_fire *outer;
} fw_ns_fire_t;

struct fw_ns {
    const struct fw_ns_ops *ops;
    void *arg;
    fw_ns_entry_t *buckets[FW_NS_NBUCKETS];
    size_t count;
    size_t max_entries;
    fw_ns_wait_t **heap;
    size_t npending;
    size_t heap_cap;
    size_t max_pending;
    uint64_t seq;
    fw_ns_fire_t *firing;
};

/********************/
/* Local Functions  */
/********************/

/* FNV-1a */
static uint32_t
fw_ns_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* 1 if s holds 1 .. max-1 characters */
static int
fw_ns_str_ok(const char *s, size_t max)
{
    size_t n;

    if (s == NULL)
        return 0;
    n = strnlen(s, max);
    return n > 0 && n < max;
}

/* The link that points to service's entry (or the chain's end). */
static fw_ns_entry_t **
fw_ns_entry_link(fw_ns_t *ns, const char *service, uint32_t hash)
{
    fw_ns_entry_t **link = &ns->buckets[hash & (FW_NS_NBUCKETS - 1)];

    while (*link != NULL &&
           ((*link)->hash != hash || strcmp((*link)->service, service) != 0))
        link = &(*link)->next;
    return link;
}

static fw_ns_entry_t *
fw_ns_entry_new(const char *owner, const char *service, const char *port,
                uint32_t hash)
{
    size_t ls = strlen(service) + 1, lo = strlen(owner) + 1;
    size_t lp = strlen(port) + 1;
    fw_ns_entry_t *e = malloc(sizeof(*e) + ls + lo + lp);
    char *p;

    if (e == NULL)
        return NULL;
    e->next = NULL;
    e->hash = hash;
    memcpy(e->service, service, ls);
    p = e->service + ls;
    memcpy(p, owner, lo);
    e->owner = p;
    memcpy(p + lo, port, lp);
    e->port = p + lo;
    return e;
}

static int
fw_ns_wait_before(const fw_ns_wait_t *a, const fw_ns_wait_t *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static void
fw_ns_heap_set(fw_ns_t *ns, size_t i, fw_ns_wait_t *w)
{
    ns->heap[i] = w;
    w->idx = i;
}

static void
fw_ns_heap_up(fw_ns_t *ns, size_t i)
{
    fw_ns_wait_t *w = ns->heap[i];

    while (i > 0 && fw_ns_wait_before(w, ns->heap[(i - 1) / 2])) {
        fw_ns_heap_set(ns, i, ns->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    fw_ns_heap_set(ns, i, w);
}

static void
fw_ns_heap_down(fw_ns_t *ns, size_t i)
{
    fw_ns_wait_t *w = ns->heap[i];
    size_t c;

    for (;;) {
        c = 2 * i + 1;
        if (c >= ns->npending)
            break;
        if (c + 1 < ns->npending &&
            fw_ns_wait_before(ns->heap[c + 1], ns->heap[c]))
            c++;
        if (!fw_ns_wait_before(ns->heap[c], w))
            break;
        fw_ns_heap_set(ns, i, ns->heap[c]);
        i = c;
    }
    fw_ns_heap_set(ns, i, w);
}

static fw_status_t
fw_ns_heap_push(fw_ns_t *ns, fw_ns_wait_t *w)
{
    fw_ns_wait_t **nh;
    size_t cap;

    if (ns->npending == ns->heap_cap) {
        cap = ns->heap_cap != 0 ? 2 * ns->heap_cap : 16;
        nh = realloc(ns->heap, cap * sizeof(*nh));
        if (nh == NULL)
            return FW_ERR_NO_MEM;
        ns->heap = nh;
        ns->heap_cap = cap;
    }
    ns->heap[ns->npending++] = w;
    fw_ns_heap_up(ns, ns->npending - 1);
    return FW_SUCCESS;
}

/* Take w out of the heap (it stays allocated). */
static void
fw_ns_heap_remove(fw_ns_t *ns, fw_ns_wait_t *w)
{
    size_t i = w->idx;
    fw_ns_wait_t *last = ns->heap[--ns->npending];

    w->idx = SIZE_MAX;
    if (last == w)
        return;
    fw_ns_heap_set(ns, i, last);
    if (i > 0 && fw_ns_wait_before(last, ns->heap[(i - 1) / 2]))
        fw_ns_heap_up(ns, i);
    else
        fw_ns_heap_down(ns, i);
}

/* Answer every lookup of the fire list f (already out of the heap). */
static void
fw_ns_fire_run(fw_ns_t *ns, fw_ns_fire_t *f, fw_status_t status,
               const char *port)
{
    fw_ns_wait_t *w;

    f->outer = ns->firing;
    ns->firing = f;
    while (f->head != NULL) {
        w = f->head;
        f->head = w->next;
        ns->ops->reply(ns->arg, &w->cookie, status, port);
        free(w);
    }
    ns->firing = f->outer;
}

/* Lookups of service, out of the heap, onto f (arrival order is not
 * kept: they are answered together). Matches are found first and removed
 * after, as a removal moves other lookups around in the heap. */
static void
fw_ns_collect_service(fw_ns_t *ns, const char *service, uint32_t hash,
                      fw_ns_fire_t *f)
{
    fw_ns_wait_t *w;
    size_t i;

    for (i = 0; i < ns->npending; i++) {
        w = ns->heap[i];
        if (w->hash == hash && strcmp(w->service, service) == 0) {
            w->next = f->head;
            f->head = w;
        }
    }
    for (w = f->head; w != NULL; w = w->next)
        fw_ns_heap_remove(ns, w);
}

/* Drop from fire list f the lookups of requester; returns how many. */
static size_t
fw_ns_fire_cancel(fw_ns_fire_t *f, const void *requester)
{
    fw_ns_wait_t **link = &f->head, *w;
    size_t n = 0;

    while (*link != NULL) {
        w = *link;
        if (w->cookie.requester == requester) {
            *link = w->next;
            free(w);
            n++;
        } else {
            link = &w->next;
        }
    }
    return n;
}

/*********************/
/* Public Functions  */
/*********************/

fw_status_t
fw_ns_create(const struct fw_ns_ops *ops, void *arg, fw_ns_t **ns_p)
{
    fw_ns_t *ns;

    if (ops == NULL || ops->reply == NULL || ns_p == NULL)
        return FW_ERR_BAD_PARAM;
    ns = calloc(1, sizeof(*ns));
    if (ns == NULL)
        return FW_ERR_NO_MEM;
    ns->ops = ops;
    ns->arg = arg;
    ns->max_entries = FW_NS_MAX_ENTRIES;
    ns->max_pending = FW_NS_MAX_PENDING;
    *ns_p = ns;
    return FW_SUCCESS;
}

void
fw_ns_destroy(fw_ns_t *ns)
{
    fw_ns_entry_t *e, *next;
    size_t i;

    if (ns == NULL)
        return;
    for (i = 0; i < FW_NS_NBUCKETS; i++) {
        for (e = ns->buckets[i]; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    for (i = 0; i < ns->npending; i++)
        free(ns->heap[i]);
    free(ns->heap);
    free(ns);
}

fw_status_t
fw_ns_set_limits(fw_ns_t *ns, size_t max_entries, size_t max_pending)
{
    if (ns == NULL || max_entries == 0 || max_entries > FW_NS_MAX_ENTRIES ||
        max_pending == 0 || max_pending > FW_NS_MAX_PENDING)
        return FW_ERR_BAD_PARAM;
    ns->max_entries = max_entries;
    ns->max_pending = max_pending;
    return FW_SUCCESS;
}

fw_status_t
fw_ns_publish(fw_ns_t *ns, const char *owner, const char *service,
              const char *port)
{
    fw_ns_fire_t fire = {NULL, NULL};
    fw_ns_entry_t **link, *e;
    uint32_t hash;

    if (ns == NULL || !fw_ns_str_ok(owner, FW_JOBID_MAX) ||
        !fw_ns_str_ok(service, FW_MAX_SERVICE) ||
        !fw_ns_str_ok(port, FW_MAX_PORT_NAME))
        return FW_ERR_BAD_PARAM;
    hash = fw_ns_hash(service);
    link = fw_ns_entry_link(ns, service, hash);
    if (*link != NULL)
        return FW_ERR_EXISTS;
    if (ns->count >= ns->max_entries)
        return FW_ERR_TOO_BIG;
    e = fw_ns_entry_new(owner, service, port, hash);
    if (e == NULL)
        return FW_ERR_NO_MEM;
    *link = e;
    ns->count++;
    fw_ns_collect_service(ns, service, hash, &fire);
    /* e may be unpublished from the callback: answer with its own copy */
    if (fire.head != NULL) {
        char copy[FW_MAX_PORT_NAME];

        memcpy(copy, e->port, strlen(e->port) + 1);
        fw_ns_fire_run(ns, &fire, FW_SUCCESS, copy);
    }
    return FW_SUCCESS;
}

static fw_status_t
fw_ns_wait_add(fw_ns_t *ns, const char *service, uint32_t hash,
               uint64_t deadline, const fw_ns_cookie_t *cookie)
{
    size_t ls = strlen(service) + 1;
    fw_ns_wait_t *w;

    if (ns->npending >= ns->max_pending)
        return FW_ERR_TOO_BIG;
    w = malloc(sizeof(*w) + ls);
    if (w == NULL)
        return FW_ERR_NO_MEM;
    w->deadline = deadline;
    w->seq = ns->seq++;
    w->next = NULL;
    w->hash = hash;
    w->cookie = *cookie;
    memcpy(w->service, service, ls);
    if (fw_ns_heap_push(ns, w) != FW_SUCCESS) {
        free(w);
        return FW_ERR_NO_MEM;
    }
    return FW_INPROGRESS;
}

fw_status_t
fw_ns_lookup(fw_ns_t *ns, const char *service, uint32_t timeout_ms,
             uint64_t now_ms, const fw_ns_cookie_t *cookie,
             char port_out[FW_MAX_PORT_NAME])
{
    fw_ns_entry_t *e;
    uint32_t hash;
    uint64_t deadline;

    if (ns == NULL || !fw_ns_str_ok(service, FW_MAX_SERVICE) ||
        cookie == NULL || port_out == NULL)
        return FW_ERR_BAD_PARAM;
    hash = fw_ns_hash(service);
    e = *fw_ns_entry_link(ns, service, hash);
    if (e != NULL) {
        memcpy(port_out, e->port, strlen(e->port) + 1);
        return FW_SUCCESS;
    }
    if (timeout_ms == 0)
        return FW_ERR_NOT_FOUND;
    /* 0 means "no deadline" to fw_ns_next_deadline: never produce it */
    deadline = now_ms + timeout_ms;
    if (deadline < now_ms)
        deadline = UINT64_MAX;
    return fw_ns_wait_add(ns, service, hash, deadline, cookie);
}

fw_status_t
fw_ns_unpublish(fw_ns_t *ns, const char *owner, const char *service)
{
    fw_ns_entry_t **link, *e;

    if (ns == NULL || !fw_ns_str_ok(owner, FW_JOBID_MAX) ||
        !fw_ns_str_ok(service, FW_MAX_SERVICE))
        return FW_ERR_BAD_PARAM;
    link = fw_ns_entry_link(ns, service, fw_ns_hash(service));
    e = *link;
    if (e == NULL)
        return FW_ERR_NOT_FOUND;
    if (strcmp(e->owner, owner) != 0)
        return FW_ERR_PERM;
    *link = e->next;
    ns->count--;
    free(e);
    return FW_SUCCESS;
}

void
fw_ns_expire(fw_ns_t *ns, uint64_t now_ms)
{
    fw_ns_fire_t fire = {NULL, NULL};
    fw_ns_wait_t *w, **tail = &fire.head;

    if (ns == NULL)
        return;
    /* earliest first, so that replies go out in deadline order */
    while (ns->npending > 0 && ns->heap[0]->deadline <= now_ms) {
        w = ns->heap[0];
        fw_ns_heap_remove(ns, w);
        w->next = NULL;
        *tail = w;
        tail = &w->next;
    }
    if (fire.head != NULL)
        fw_ns_fire_run(ns, &fire, FW_ERR_NOT_FOUND, NULL);
}

uint64_t
fw_ns_next_deadline(const fw_ns_t *ns)
{
    if (ns == NULL || ns->npending == 0)
        return 0;
    return ns->heap[0]->deadline;
}

size_t
fw_ns_drop_owner(fw_ns_t *ns, const char *owner)
{
    fw_ns_entry_t **link, *e;
    size_t i, n = 0;

    if (ns == NULL || owner == NULL)
        return 0;
    for (i = 0; i < FW_NS_NBUCKETS; i++) {
        link = &ns->buckets[i];
        while (*link != NULL) {
            e = *link;
            if (strcmp(e->owner, owner) == 0) {
                *link = e->next;
                free(e);
                n++;
            } else {
                link = &e->next;
            }
        }
    }
    ns->count -= n;
    return n;
}

size_t
fw_ns_cancel(fw_ns_t *ns, const void *requester)
{
    fw_ns_wait_t *gone = NULL, *w;
    fw_ns_fire_t *f;
    size_t i, n = 0;

    if (ns == NULL)
        return 0;
    /* find first, remove after: a removal moves lookups in the heap */
    for (i = 0; i < ns->npending; i++) {
        w = ns->heap[i];
        if (w->cookie.requester == requester) {
            w->next = gone;
            gone = w;
        }
    }
    while (gone != NULL) {
        w = gone;
        gone = w->next;
        fw_ns_heap_remove(ns, w);
        free(w);
        n++;
    }
    for (f = ns->firing; f != NULL; f = f->outer)
        n += fw_ns_fire_cancel(f, requester);
    return n;
}

size_t
fw_ns_count(const fw_ns_t *ns)
{
    return ns != NULL ? ns->count : 0;
}

size_t
fw_ns_pending(const fw_ns_t *ns)
{
    return ns != NULL ? ns->npending : 0;
}
