/* The unit tests' temporary trees: removed whole, links not followed. */
#ifndef PAM_CLERK_TESTS_TMP_TREE_H
#define PAM_CLERK_TESTS_TMP_TREE_H

/* Remove path and everything below it; 0, or -1 as rmdir/unlink. */
int remove_tree(const char *path);

#endif
