/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of libfabwire's dpm layer (communicators, ports,
 * connect/accept, spawn), shared by the dpm_*.c files of the library.
 *
 * Tag layout of every fabric message the layer sends (64 bits):
 *   [63:62] class: 0 user message, 1 internal collective step,
 *           2 connect request to a port, 3 answer to a connect
 *   class 0/1: [61:38] context id, [37:16] sender's rank in its group,
 *              [15:0] user tag (class 0) or step (class 1)
 *   class 2/3: [61:0] port nonce / connect nonce
 */
#ifndef FW_DPM_INT_H
#define FW_DPM_INT_H

#include "fabwire.h"
#include "dpm/dpm.h"
#include "fabric/fab.h"
#include "common/buf.h"
#include "oob/oob_wire.h"
#include "oob/oob.h"

#include <stdio.h>

#define FW_DPM_CLASS_USER 0ull
#define FW_DPM_CLASS_COLL 1ull
#define FW_DPM_CLASS_PORT 2ull
#define FW_DPM_CLASS_REPLY 3ull
#define FW_DPM_CID_BITS 24
#define FW_DPM_SRC_BITS 22
#define FW_DPM_MAX_RANKS (1u << FW_DPM_SRC_BITS)
#define FW_DPM_CID_WORLD 0u
#define FW_DPM_CID_SELF 1u
/* Nonces of class 3 (reply) tags; all ones is never one (REPLY | mask
 * would be FW_DPM_RELAY_TAG). */
#define FW_DPM_NONCE_MASK ((1ull << 62) - 1)

/* internal collective steps (class 1 tag field) */
enum {
    FW_DPM_STEP_BCAST = 1,  /* root's result to the local group */
    FW_DPM_STEP_XCHG = 2,   /* root <-> remote root */
    FW_DPM_STEP_FANIN = 3,  /* members -> root (barrier) */
    FW_DPM_STEP_FANOUT = 4, /* root -> members (barrier) */
    FW_DPM_STEP_PRIME = 5,  /* to ourselves when the endpoint opens */
    FW_DPM_STEP_ENV = 6     /* envelope of a user message (dpm_env.c) */
};

/* Payload of barrier steps (4 bytes, not empty: zero-length tagged
 * messages are the providers' least exercised path). Fan-ins receive
 * from each member in turn, not from any source: with libfabric 1.17's
 * shm provider, an any-source receive posted after the message arrived
 * missed it about once in ten 2-parent spawn/disconnect runs under load
 * (the root hung in the fan-in); per-source receives never did in 50. */
#define FW_DPM_TOKEN_LEN 4
extern const uint8_t fw_dpm_token[FW_DPM_TOKEN_LEN];

/* Timeout of steps and user receives that wait as long as it takes. */
#define FW_DPM_FOREVER_MS 86400000

/* Largest internal message (group descriptions): ~30k members. */
#define FW_DPM_MSG_MAX (1u << 20)

typedef struct fw_dpm_member {
    uint32_t rank;     /* rank in its own job */
    uint16_t addr_len; /* 0: not known yet (world, before resolution) */
    uint8_t addr[FW_MAX_ADDR];
    uint64_t peer;     /* address vector handle when have_peer */
    int have_peer;
} fw_dpm_member_t;

typedef struct fw_dpm_group {
    uint32_t n;
    char jobid[FW_JOBID_MAX]; /* job of the members ("" = several) */
    fw_dpm_member_t *m;
} fw_dpm_group_t;

typedef enum fw_dpm_comm_kind {
    FW_DPM_WORLD = 1,
    FW_DPM_SELF = 2,
    FW_DPM_INTER = 3,
    FW_DPM_INTRA = 4 /* from fw_intercomm_merge */
} fw_dpm_comm_kind_t;

struct fw_comm {
    fw_dpm_comm_kind_t kind;
    uint32_t cid;
    uint32_t rank;           /* in the local group */
    fw_dpm_group_t *local;   /* world/self: the library's own groups */
    fw_dpm_group_t *remote;  /* INTER only */
    int acceptor;            /* INTER: this side accepted or spawned */
    struct fw_comm *next;    /* list of live INTER/INTRA comms */
};

typedef struct fw_dpm_port {
    struct fw_dpm_port *next;
    uint64_t nonce;
    char name[FW_MAX_PORT_NAME];
    volatile int closed;     /* set by fw_port_close from another thread */
    int internal;            /* spawn's own port, not in the user's view */
} fw_dpm_port_t;

/* The layer's process-wide state (one job per process). */
typedef struct fw_dpm_env fw_dpm_env_t;

typedef struct fw_dpm_relay fw_dpm_relay_t;

typedef struct fw_dpm_rail fw_dpm_rail_t;

/* An entry of the address cache (dpm_group.c); peers are pointers to
 * one, as uint64_t. */
typedef struct fw_dpm_av_ent {
    struct fw_dpm_av_ent *next;
    struct fw_dpm_av_ent *idle_prev, *idle_next; /* refs == 0: kept (LRU) */
    uint32_t refs;
    uint16_t len;
    uint8_t addr[FW_MAX_ADDR];
    uint64_t fi_peer;            /* our AV's handle of addr (endpoint) */
    int rail;                    /* fi_peer is in the shm rail's AV */
    uint32_t relay_id;           /* addr is a relay address: the id ... */
    struct fw_dpm_av_ent *via;   /* ... at this daemon (endpoint) */
    uint8_t *own;                /* a relay address: the process's own */
    uint16_t own_len;            /* endpoint address, once asked */
} fw_dpm_av_ent_t;

typedef struct fw_dpm_state {
    int up;                  /* fw_dpm_init done */
    fw_fab_t *fab;           /* == fw_client_g.fab once opened */
    fw_dpm_relay_t *relay;   /* relayed: our daemon link (dpm_relay.c) */
    fw_dpm_rail_t *rail;     /* shm for peers on this host, or NULL */
    int registered;          /* our address went to fwrun */
    uint16_t own_len;        /* relayed: our own endpoint's address, */
    uint8_t own[FW_MAX_ADDR];/* once opened (fw_dpm_tp_own), */
    fw_status_t own_rc;      /* or why it could not be */
    int idle_ms;             /* its progress period while we wait (shm) */
    fw_dpm_group_t world_g, self_g;
    fw_comm_t world, self;
    fw_comm_t *comms;        /* INTER/INTRA comms alive */
    fw_comm_t *parent;
    fw_dpm_port_t *ports;
    uint32_t reqid;
    void *av;                /* address -> peer cache (dpm_group.c) */
    void **graveyard;        /* buffers of abandoned receives */
    size_t ngraveyard;
    fw_dpm_env_t *envs;      /* envelopes read, oldest first (dpm_env.c) */
} fw_dpm_state_t;

extern fw_dpm_state_t fw_dpm_g;

/* dpm_comm.c */
fw_status_t fw_dpm_init(void);
void fw_dpm_fini(void);
void fw_dpm_graveyard_add(void *buf);
void fw_dpm_graveyard_free(void *graveyard, size_t n);
uint64_t fw_dpm_tag(uint64_t cls, uint32_t cid, uint32_t src, uint32_t t);
fw_status_t fw_dpm_member_peer(fw_dpm_group_t *g, uint32_t i,
                               uint64_t *peer_p);
fw_status_t fw_dpm_world_resolve_all(void);
fw_status_t fw_dpm_fill_group(fw_dpm_group_t *g);
fw_status_t fw_dpm_comm_check(const fw_comm_t *comm);
void fw_dpm_comm_link(fw_comm_t *comm);
void fw_dpm_comm_free(fw_comm_t *comm);
/* A timeout tunable in ms, 1..86400000; 0 is refused (the default is
 * used, with a warning) unless zero_is_forever (FW_DPM_ACCEPT_MS). */
int fw_dpm_timeout_ms(const char *param, int zero_is_forever);

/* dpm_tp.c: the transport (own endpoint, or relayed by a daemon) */
fw_status_t fw_dpm_ep(void);       /* open and registered with fwrun */
fw_status_t fw_dpm_tp_ready(void); /* open */
void fw_dpm_tp_close(void);
int fw_dpm_tp_relayed(void);
int fw_dpm_tp_exact_tags(void);
const char *fw_dpm_tp_provider(void);
fw_status_t fw_dpm_tp_addr(void *buf, size_t *len_p);
/* The address of our own endpoint (opened if relayed), for
 * fw_comm_peer_addr; and that of the relayed process at peer (asked of
 * its daemon, cached in the entry). */
fw_status_t fw_dpm_tp_own(const uint8_t **addr_p, size_t *len_p);
fw_status_t fw_dpm_tp_own_of(uint64_t peer, const uint8_t **addr_p,
                             size_t *len_p);
fw_status_t fw_dpm_tp_peer_open(fw_dpm_av_ent_t *e);
/* The provider knows e's peer is gone (shm: its region). */
int fw_dpm_tp_peer_gone(const fw_dpm_av_ent_t *e);
/* Our primary endpoint's address alone (ports, when ours is too long). */
fw_status_t fw_dpm_tp_primary_addr(void *buf, size_t *len_p);
void fw_dpm_tp_peer_close(fw_dpm_av_ent_t *e);
fw_status_t fw_dpm_tp_send(uint64_t peer, uint64_t tag, const void *buf,
                           size_t len, int timeout_ms);
fw_status_t fw_dpm_tp_recv(uint64_t tag, uint64_t ignore, void *buf,
                           size_t cap, size_t *len_p, uint64_t *tag_p,
                           int timeout_ms, fw_fab_stop_fn stop,
                           void *stop_arg);

/* dpm_relay.c: a relayed process's daemon link */
fw_status_t fw_dpm_relay_open(const char *uri,
                              const uint8_t secret[FW_OOB_SECRET_LEN],
                              uint32_t rank, int timeout_ms,
                              fw_dpm_relay_t **r_p);
void fw_dpm_relay_close(fw_dpm_relay_t *r);
const char *fw_dpm_relay_provider(const fw_dpm_relay_t *r);
int fw_dpm_relay_exact_tags(const fw_dpm_relay_t *r);
fw_status_t fw_dpm_relay_addr(const fw_dpm_relay_t *r, void *buf,
                              size_t *len_p);
fw_status_t fw_dpm_relay_send(fw_dpm_relay_t *r, const uint8_t *dest,
                              size_t dlen, uint64_t tag, const void *buf,
                              size_t len, int timeout_ms);
fw_status_t fw_dpm_relay_recv(fw_dpm_relay_t *r, uint64_t tag,
                              uint64_t ignore, void *buf, size_t cap,
                              size_t *len_p, uint64_t *tag_p, int timeout_ms,
                              fw_fab_stop_fn stop, void *stop_arg);
/* The relay socket (-1 once broken), its wait hook, and one frame read
 * if one has come (fw_dpm_tp's hooks: address queries are answered
 * while we wait for our daemon, too). */
int fw_dpm_relay_fd(const fw_dpm_relay_t *r);
void fw_dpm_relay_set_idle(fw_dpm_relay_t *r, const fw_oob_idle_t *idle);
void fw_dpm_relay_pump(fw_dpm_relay_t *r);
/* Called (once, from a read) when a peer asks for our own endpoint's
 * address; it answers with fw_dpm_relay_post_addr. */
void fw_dpm_relay_on_ask(fw_dpm_relay_t *r, void (*fn)(void *), void *arg);
/* Tell the daemon our own endpoint's address (or why there is none). */
fw_status_t fw_dpm_relay_post_addr(fw_dpm_relay_t *r, fw_status_t st,
                                   const void *addr, size_t len);

/* dpm_rail.c: the shm rail for peers on this host (rail.h) */
/* Open it beside primary if FW_DPM_SHM says so (*r_p NULL if not). */
fw_status_t fw_dpm_rail_open(fw_fab_t *primary, fw_dpm_rail_t **r_p);
void fw_dpm_rail_close(fw_dpm_rail_t *r);
fw_fab_t *fw_dpm_rail_fab(const fw_dpm_rail_t *r);
/* Our rail address around primary's. */
fw_status_t fw_dpm_rail_addr(fw_dpm_rail_t *r, const void *primary,
                             size_t plen, void *out, size_t *len_p);
/* 1 (and its shm address) if addr is a rail address of this host. */
int fw_dpm_rail_local(const fw_dpm_rail_t *r, const uint8_t *addr,
                      size_t len, const uint8_t **shm_p, size_t *slen_p);
/* To peer (shm address shm): returns once the message is on its way
 * (up to FW_DPM_RAIL_INLINE bytes; longer ones once received). */
fw_status_t fw_dpm_rail_send(fw_dpm_rail_t *r, uint64_t peer,
                             const uint8_t *shm, size_t slen, uint64_t tag,
                             const void *buf, size_t len, int timeout_ms);
/* A receive from either endpoint: the rail's messages first. */
fw_status_t fw_dpm_rail_recv(fw_dpm_rail_t *r, fw_fab_t *primary,
                             uint64_t tag, uint64_t ignore, void *buf,
                             size_t cap, size_t *len_p, uint64_t *tag_p,
                             int timeout_ms, fw_fab_stop_fn stop,
                             void *stop_arg);

/* dpm_env.c: wildcard receives on exact-tag fabrics */
fw_status_t fw_dpm_env_send(uint64_t peer, const fw_comm_t *comm,
                            uint32_t tag, size_t len);
/* Oldest envelope of comm fitting src/tag (-1: any), reading as needed:
 * the message's source, tag and length. */
fw_status_t fw_dpm_env_pick(const fw_comm_t *comm, int src, int tag,
                            uint32_t *src_p, uint32_t *tag_p,
                            uint64_t *len_p);
/* A message (src, tag) of comm, picked before, was received: its
 * envelope goes. */
void fw_dpm_env_consume(const fw_comm_t *comm, uint32_t src, uint32_t tag);
/* Forget the envelopes read for cid (all: every one). */
void fw_dpm_env_drop(uint32_t cid, int all);

/* dpm_group.c */
fw_dpm_group_t *fw_dpm_group_new(uint32_t n, const char *jobid);
void fw_dpm_group_free(fw_dpm_group_t *g);
void fw_dpm_group_pack(const fw_dpm_group_t *g, fw_buf_t *b);
fw_status_t fw_dpm_group_unpack(fw_rbuf_t *r, fw_dpm_group_t **g_p);
uint32_t fw_dpm_cid_derive(uint64_t a, uint64_t b);
fw_status_t fw_dpm_av_get(const uint8_t *addr, size_t len, uint64_t *peer_p);
void fw_dpm_av_put(uint64_t peer);
void fw_dpm_av_fini(void);

/* dpm_coll.c: steps over comm's local group / between the two roots */
fw_status_t fw_dpm_send(fw_comm_t *comm, fw_dpm_group_t *g, uint32_t dst,
                        uint64_t cls, uint32_t t, const void *p, size_t len);
fw_status_t fw_dpm_recv(fw_comm_t *comm, uint32_t src, uint64_t cls,
                        uint32_t t, void *buf, size_t cap, size_t *len_p);
fw_status_t fw_dpm_bcast(fw_comm_t *comm, uint32_t root, fw_buf_t *b,
                         void **out_p, size_t *len_p);
fw_status_t fw_dpm_barrier(fw_comm_t *comm);

/* dpm_oob.c: requests to fwrun through the daemon */
fw_status_t fw_dpm_call(uint8_t op, const fw_buf_t *body, uint32_t *reqid_p,
                        int timeout_ms, void **reply_p, size_t *len_p);
fw_status_t fw_dpm_send_req(uint8_t op, const fw_buf_t *body,
                            uint32_t *reqid_p);
fw_status_t fw_dpm_poll_reply(uint32_t reqid, int timeout_ms, void **reply_p,
                              size_t *len_p);

/* dpm_connect.c */
typedef int (*fw_dpm_abort_fn)(void *arg); /* nonzero: stop waiting */
fw_status_t fw_dpm_port_new(int internal, fw_dpm_port_t **port_p);
fw_status_t fw_dpm_accept(fw_dpm_port_t *port, fw_comm_t *comm, int root,
                          fw_dpm_abort_fn abort_fn, void *abort_arg,
                          int timeout_ms, fw_comm_t **inter);
void fw_dpm_port_drop(fw_dpm_port_t *port);
fw_status_t fw_dpm_accept_root(fw_dpm_port_t *port, fw_comm_t *comm,
                               fw_dpm_abort_fn abort_fn, void *abort_arg,
                               int timeout_ms, fw_dpm_group_t **remote_p,
                               uint32_t *cid_p);
fw_status_t fw_dpm_result_bcast(fw_comm_t *comm, int root, fw_status_t rc,
                                uint32_t *cid_p, fw_dpm_group_t **remote_p,
                                fw_buf_t *extra, void **extra_p,
                                size_t *extra_len);
fw_status_t fw_dpm_inter_new(fw_comm_t *comm, uint32_t cid,
                             fw_dpm_group_t *remote, int acceptor,
                             fw_comm_t **inter);
fw_status_t fw_dpm_local_ready(fw_comm_t *comm);
fw_status_t fw_dpm_coll_args(fw_comm_t *comm, int root, fw_comm_t **inter);
fw_status_t fw_dpm_parent_connect(void);
fw_status_t fw_dpm_connect_to(const char *port_name, fw_comm_t *comm,
                              int root, fw_comm_t **inter);

#endif /* FW_DPM_INT_H */
