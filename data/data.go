// Package data carries the files in data/ that the programs need at run
// time, so the interface XML installed for busctl and gdbus is byte for
// byte the one the service serves and the client checks against.
package data

import "embed"

// InterfaceXML is io.github.keepsake.Keepsake1.xml: the D-Bus interface.
//
//go:embed io.github.keepsake.Keepsake1.xml
var InterfaceXML []byte

// Icons is the app's icon theme folder (hicolor/scalable/apps and
// hicolor/symbolic/apps), for an app run from the build tree.
//
//go:embed icons
var Icons embed.FS
