// Package dbusapi holds Keepsake's D-Bus names, object paths, polkit
// action ids, the mapping of named errors to D-Bus errors and back, and the
// Go shapes of the dictionaries the service returns. The interface itself
// is defined by data/io.github.keepsake.Keepsake1.xml; Interfaces parses it
// and CheckMethods makes sure a Go object implements it, so the service and
// the XML cannot drift apart.
package dbusapi
