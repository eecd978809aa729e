// Package exclude decides which paths a backup skips.
//
// Patterns follow gitignore, but are matched against absolute paths:
//
//   - `*`, `?` and `[...]` match within one path component; `**` as a whole
//     component matches any number of components: `**/x` (x at any depth),
//     `a/**/b` (b anywhere below a, including a/b) and `a/**` (everything
//     inside a, but not a itself).
//   - A trailing `/` matches directories only: `node_modules/`.
//   - A leading `!` re-includes what an earlier pattern excluded; the last
//     matching pattern wins. As in gitignore, nothing inside an excluded
//     directory can be re-included, because the backup never looks inside it.
//   - `\` escapes the next character: `\!x`, `\#x`, `\*`, and a trailing
//     `\ ` keeps a trailing space that would otherwise be trimmed.
//   - Blank lines and lines starting with `#` are ignored, so the lines of an
//     exclude file can be passed as they are.
//   - A pattern without a slash (other than a trailing one) matches the base
//     name at any depth: `*.tmp`, `node_modules/`.
//   - A pattern starting with `/` is anchored at the filesystem root:
//     `/home/*/Downloads/`.
//   - A pattern starting with `~/` is anchored at every home directory: with
//     homes /home/ann and /root, `~/.cache/` skips both /home/ann/.cache and
//     /root/.cache.
//   - Any other pattern with a slash matches at any depth, as if it started
//     with `**/`: `build/out` skips every `.../build/out`. Unlike gitignore
//     there is no single base directory to anchor it to, since one backup
//     covers several source folders.
//
// "." and ".." are not allowed as pattern components, and the root directory
// itself is never excluded.
package exclude
