package searchprovider

import (
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
)

// introspection is org.gnome.Shell.SearchProvider2 as GNOME Shell calls
// it (gnome-shell's data/dbus-interfaces).
const introspection = `<node>
  <interface name="org.gnome.Shell.SearchProvider2">
    <method name="GetInitialResultSet">
      <arg type="as" name="terms" direction="in"/>
      <arg type="as" name="results" direction="out"/>
    </method>
    <method name="GetSubsearchResultSet">
      <arg type="as" name="previous_results" direction="in"/>
      <arg type="as" name="terms" direction="in"/>
      <arg type="as" name="results" direction="out"/>
    </method>
    <method name="GetResultMetas">
      <arg type="as" name="identifiers" direction="in"/>
      <arg type="aa{sv}" name="metas" direction="out"/>
    </method>
    <method name="ActivateResult">
      <arg type="s" name="identifier" direction="in"/>
      <arg type="as" name="terms" direction="in"/>
      <arg type="u" name="timestamp" direction="in"/>
    </method>
    <method name="LaunchSearch">
      <arg type="as" name="terms" direction="in"/>
      <arg type="u" name="timestamp" direction="in"/>
    </method>
  </interface>` + introspect.IntrospectDeclarationString + `</node>`

// methods are the D-Bus face of a Provider. godbus runs each call in a
// goroutine of its own, so a slow search never holds up another call.
type methods struct{ p *Provider }

func (m methods) GetInitialResultSet(terms []string) ([]string, *dbus.Error) {
	return m.p.Search(terms), nil
}

func (m methods) GetSubsearchResultSet(previous, terms []string) ([]string, *dbus.Error) {
	return m.p.Subsearch(previous, terms), nil
}

func (m methods) GetResultMetas(ids []string) ([]map[string]dbus.Variant, *dbus.Error) {
	metas := m.p.Metas(ids)
	out := make([]map[string]dbus.Variant, len(metas))
	for i, meta := range metas {
		out[i] = map[string]dbus.Variant{
			"id":          dbus.MakeVariant(meta.ID),
			"name":        dbus.MakeVariant(meta.Name),
			"description": dbus.MakeVariant(meta.Description),
			"gicon":       dbus.MakeVariant(meta.Icon),
		}
	}
	return out, nil
}

func (m methods) ActivateResult(id string, terms []string, timestamp uint32) *dbus.Error {
	m.p.Activate(id)
	return nil
}

func (m methods) LaunchSearch(terms []string, timestamp uint32) *dbus.Error {
	m.p.Launch(terms)
	return nil
}

// Export serves p on conn at ObjectPath and takes BusName. It fails when
// another process has the name (another instance of the app).
func Export(conn *dbus.Conn, p *Provider) error {
	if err := conn.Export(methods{p}, ObjectPath, Interface); err != nil {
		return fmt.Errorf("export the search provider: %w", err)
	}
	if err := conn.Export(introspect.Introspectable(introspection), ObjectPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return fmt.Errorf("export the search provider's introspection: %w", err)
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("own %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		return fmt.Errorf("own %s: another process has it", BusName)
	}
	return nil
}

// Start connects to the session bus and serves p there until stop is
// called. Nothing of it runs on the caller's goroutine after it returns.
func Start(p *Provider) (stop func(), err error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("connect to the session bus: %w", err)
	}
	if err := Export(conn, p); err != nil {
		conn.Close()
		return nil, err
	}
	return func() { conn.Close() }, nil
}
