/* ks_tree.h - the node tree: names, values, permission lists, generation counts and the
 * per-owner node counts the quotas need. Pure data structure; no access control here. */
#ifndef KS_TREE_H
#define KS_TREE_H

#include <stddef.h>
#include <stdint.h>

#define KS_PERM_NONE 0u
#define KS_PERM_READ 1u
#define KS_PERM_WRITE 2u
#define KS_PERM_BOTH 3u

struct ks_perm {
    uint32_t id;
    uint32_t mode;
};

struct ks_node;
struct ks_tree;

struct ks_tree *ks_tree_new(void);
void ks_tree_free(struct ks_tree *t);
struct ks_tree *ks_tree_clone(const struct ks_tree *t);

/* Absolute canonical path -> node, or NULL. */
struct ks_node *ks_tree_lookup(struct ks_tree *t, const char *path);
/* Number of nodes that creating `path` would add (0 if it exists). */
unsigned ks_tree_missing(struct ks_tree *t, const char *path);
/* Create `path` and missing ancestors; new nodes inherit the parent's permissions, and
 * when `creator` is not 0 it becomes their owner. 0 or -ENOMEM. */
int ks_tree_mknode(struct ks_tree *t, const char *path, uint32_t creator, struct ks_node **out);
/* Remove a node and its subtree (not the root). Returns the number of nodes removed. */
unsigned ks_tree_rm(struct ks_tree *t, struct ks_node *n);
int ks_tree_set_value(struct ks_tree *t, struct ks_node *n, const void *val, size_t len);
int ks_tree_set_perms(struct ks_tree *t, struct ks_node *n, const struct ks_perm *p, unsigned np);

/* Accessors. */
const char *ks_node_value(const struct ks_node *n, size_t *len);
const struct ks_perm *ks_node_perms(const struct ks_node *n, unsigned *np);
uint64_t ks_node_gen(const struct ks_node *n);
unsigned ks_node_nkids(const struct ks_node *n);
const char *ks_node_kid_name(const struct ks_node *n, unsigned i);
struct ks_node *ks_node_parent(const struct ks_node *n);

/* Nodes owned by domain `id`, and all nodes. */
unsigned ks_tree_count(const struct ks_tree *t, uint32_t id);
uint64_t ks_tree_total(const struct ks_tree *t);
/* Modification counter of the whole tree. */
uint64_t ks_tree_gen(const struct ks_tree *t);

/* Pre-order walk; the callback gets each node's full path. Stops on a non-zero return. */
typedef int (*ks_walk_fn)(void *opaque, const char *path, const struct ks_node *n);
int ks_tree_walk(struct ks_tree *t, ks_walk_fn fn, void *opaque);

/* A domain is gone: nodes it owned pass to dom0 and its other entries are dropped, so a
 * later domain reusing the id inherits nothing. Returns the number of nodes changed. */
unsigned ks_tree_revoke(struct ks_tree *t, uint32_t id);

/* Permission strings: "r5" <-> {5, READ}. 0 or -EINVAL. */
int ks_perm_parse(const char *s, struct ks_perm *p);
int ks_perm_format(const struct ks_perm *p, char *buf, size_t size);

#endif
