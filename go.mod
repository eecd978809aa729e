module github.com/keepsake/keepsake

go 1.24

require (
	github.com/mattn/go-sqlite3 v1.14.53
	golang.org/x/sys v0.30.0
)
