// Package window is the app's main window: a view switcher over the
// pages (overview, browse, search, deleted files, apps), a switch of the
// computer they show when other computers are backed up too, the
// first-run setup when the user has no backup yet, the steps that add
// another computer, a page that says what to do when keepsaked is not
// there, and the notifications the service's events deserve.
package window
