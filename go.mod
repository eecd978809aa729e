module github.com/keepsake/keepsake

go 1.24

require (
	github.com/fsnotify/fsnotify v1.8.0
	github.com/godbus/dbus/v5 v5.2.4
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/pilebones/go-udev v0.9.1
	golang.org/x/sys v0.30.0
)
