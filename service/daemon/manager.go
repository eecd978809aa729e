package daemon

import (
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// managerHandler carries the Manager interface's methods.
type managerHandler struct{ d *Daemon }

// CreateProfile adds a profile. With every source inside the caller's home
// manage-own-folders is enough and the caller owns the profile; anything
// else needs configure.
func (h *managerHandler) CreateProfile(sender dbus.Sender, name string, settings map[string]dbus.Variant, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	c, err := d.identify(sender)
	if err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	if err := api.FromOptions(options, &api.Auth{}); err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	if err := config.ValidName(name); err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	pc := config.DefaultProfile(name)
	if err := applySettings(&pc, settings); err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	own := len(pc.Sources) > 0
	for _, s := range pc.Sources {
		own = own && c.insideHome(s)
	}
	// Choosing the drive is an administrator's decision.
	action := dbusapi.ActionConfigure
	if own && pc.Drive == "" {
		action = dbusapi.ActionManageOwn
		pc.Owner = c.uid
	}
	if err := d.authorize(c, action, options); err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	err = d.changeConfig(func(cf *config.Config) error {
		if _, ok := cf.Profile(name); ok {
			return kerr.New(kerr.InvalidArgs, "a profile called %q exists already", name)
		}
		cf.Profiles = append(cf.Profiles, pc)
		return nil
	})
	if err != nil {
		return dbusapi.NoPath, d.callErr("CreateProfile", err)
	}
	return dbusapi.ProfilePath(name), nil
}

// Reload re-reads the configuration file.
func (h *managerHandler) Reload(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	c, err := d.identify(sender)
	if err == nil {
		err = api.FromOptions(options, &api.Auth{})
	}
	if err == nil {
		err = d.authorize(c, dbusapi.ActionConfigure, options)
	}
	if err == nil {
		err = d.Reload()
	}
	return d.callErr("Reload", err)
}

// GetStatus returns what /run/keepsake/status.json says, per profile.
func (h *managerHandler) GetStatus(sender dbus.Sender, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	c, err := d.identify(sender)
	if err == nil {
		err = api.FromOptions(options, &api.Auth{})
	}
	if err == nil {
		err = d.authorize(c, dbusapi.ActionBrowse, options)
	}
	if err != nil {
		return nil, d.callErr("GetStatus", err)
	}
	out := []api.Status{}
	for _, s := range d.statusList() {
		out = append(out, api.Status{Name: s.Name, State: s.State, Result: s.Result, Message: busText(s.Message),
			LastSuccess: s.LastSuccess, LastAttempt: s.LastAttempt, NextDue: s.NextDue, Drive: s.Drive,
			DrivePresent: s.DrivePresent, TargetFree: s.TargetFree, Host: s.Host, Remote: s.Remote,
			AgeHours: s.AgeHours, Overdue: s.Overdue, Received: s.Received})
	}
	return api.ToDicts(out), nil
}
