// Package client is the typed Go client of keepsaked's D-Bus interface,
// for keepsakectl and the app. Errors come back as named errors
// (shared/kerr), so callers test kerr.Is(err, kerr.NotAuthorized) rather
// than D-Bus error strings.
package client
