// Package kerr defines Keepsake's named errors. The engine, the CLI and the
// D-Bus service all report failures as one of these names, so a script or
// the app can tell "the drive is full" from "the repository is busy" without
// parsing messages. On D-Bus a name becomes
// io.github.keepsake.Keepsake1.Error.<Name>.
package kerr
