// Package longpath opens and names files whose whole path is longer than
// the kernel resolves in one call (PATH_MAX, 4096 bytes with its NUL).
//
// A runaway build or a deep node_modules makes such trees in ordinary
// home folders. The engine works relative to directory descriptors, but
// a few steps still start from a whole path: the opening of a folder, a
// link from the previous snapshot, the metadata of a folder set at the
// end. Those go through here: a short path is one system call as before;
// a long one is opened in steps of less than PATH_MAX, each relative to
// the folder the step before opened.
package longpath
