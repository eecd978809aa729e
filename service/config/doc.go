// Package config reads and writes the service's configuration file,
// /etc/keepsake/keepsake.conf: a hand-editable INI-like text file that
// holds the global settings and the backup profiles.
//
//	# Keepsake configuration. Edit it, then reload: systemctl reload keepsake (SIGHUP).
//	[keepsake]
//	missing-drive-days = 14          # warn when an enrolled drive has not been seen for this long
//	on-failure = /usr/local/bin/mail-me   # run with KEEPSAKE_* variables when a backup fails
//
//	[profile "home"]
//	owner = 1000                    # uid that created the profile (0 = administrator)
//	source = /home/alice            # repeatable
//	source = /home/alice/Music
//	exclude = ~/.cache              # repeatable, gitignore-style
//	include-mount = /home/alice/Photos-drive  # repeatable: back up this other filesystem too
//	drive = 2f7c1b3e-...            # filesystem UUID of the backup drive, empty = none yet
//	interval = 1h                   # "off" or a duration (30m, 1h, 24h, 1d, 7d)
//	on-change = yes                 # back up after changes, once quiet for `quiet`
//	quiet = 5m
//	on-plug = yes                   # back up when the drive is plugged in and a backup is due
//	skip-on-battery = no
//	retention = time-machine        # or: keep-last=10 hourly=24 daily=30 weekly=8 monthly=12 yearly=3
//	min-free = 2%                   # or a size like 20GiB
//
// Syntax: blank lines and lines starting with # are ignored; a # that
// starts a value or follows a space or tab starts a comment. A value may be
// written in double quotes with Go escapes ("a \"b\" #c"), which is how
// [Config.Marshal] writes values that would otherwise be misread. Booleans
// are yes/no, true/false or on/off. Keys a profile leaves out take the
// values of [DefaultProfile]; source, exclude, include-mount and viewer may
// repeat, other keys may not.
//
// Every problem in the file is a kerr.InvalidConfig error whose message
// starts with "file:line:", so a person can find and fix it:
//
//	keepsake.conf:12: unknown key "intreval" in [profile "home"]
//
// [Config.Marshal] writes a canonical, commented file that parses back to
// the same Config; the service uses it (through [Save]) when profiles change
// over D-Bus, so comments a person added are not kept.
package config
