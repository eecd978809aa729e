// Package exclude decides which paths a backup skips.
//
// Patterns follow gitignore, matched against absolute paths:
//   - `*`, `?` and `[...]` match within one path component; `**` matches any
//     number of components (`**/x`, `a/**/b`, `a/**`).
//   - A trailing `/` matches directories only.
//   - A leading `!` re-includes what an earlier pattern excluded; the last
//     matching pattern wins.
//   - `\` escapes the next character; blank lines and lines starting with
//     `#` are ignored, so a file's lines can be passed as they are.
//   - A pattern without a slash (other than a trailing one) matches the base
//     name at any depth: `*.tmp`, `node_modules/`.
//   - A pattern starting with `/` is anchored at the filesystem root:
//     `/home/*/Downloads/`.
//   - A pattern starting with `~/` is anchored at every home directory.
//   - Any other pattern with a slash matches at any depth, as if it started
//     with `**/`: `build/out` skips every `.../build/out`.
package exclude
