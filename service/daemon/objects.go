package daemon

import (
	"encoding/xml"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// registry keeps the exported objects, answers Introspect for every path
// (so busctl tree and d-feet can walk it) and implements the
// ObjectManager at the root.
type registry struct {
	conn *dbus.Conn
	mu   sync.Mutex
	objs map[dbus.ObjectPath]*object
	// exportMu serialises conn.Export: godbus reads its table of objects
	// unlocked while exporting and unexporting, so two at once race.
	exportMu sync.Mutex
}

// object is one exported entity with one Keepsake interface.
type object struct {
	path  dbus.ObjectPath
	iface string
	props *prop.Properties
	// mu orders changes of the values against readers that hand them
	// out. prop stores a new list or dictionary into the old one's memory
	// (godbus's Store reuses a slice's array and adds to a map in place),
	// so a value handed out must be a copy taken under mu.RLock, not the
	// stored one, which a later Set would change while the reply is
	// encoded.
	mu sync.RWMutex
}

// Set changes a property and emits PropertiesChanged when it differs.
func (o *object) Set(name string, v any) {
	v = busValue(v)
	o.mu.Lock()
	defer o.mu.Unlock()
	cur, err := o.props.Get(o.iface, name)
	if err == nil && reflect.DeepEqual(cur.Value(), v) {
		return
	}
	// SetMust panics when the change signal cannot be sent (the bus went
	// away): the service stops through Run's check of the connection, not
	// by a panic in whichever goroutine published last.
	defer func() { recover() }()
	o.props.SetMust(o.iface, name, v)
}

// values are copies of the properties of o's interface (see mu).
func (o *object) values() (map[string]dbus.Variant, *dbus.Error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	all, err := o.props.GetAll(o.iface)
	if err != nil {
		return nil, err
	}
	for k, v := range all {
		all[k] = detach(v)
	}
	return all, nil
}

// detach copies the list or dictionary in v, which may share memory with
// a stored property; other values are immutable.
func detach(v dbus.Variant) dbus.Variant {
	rv := reflect.ValueOf(v.Value())
	switch rv.Kind() {
	case reflect.Slice:
		c := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(c, rv)
		return dbus.MakeVariantWithSignature(c.Interface(), v.Signature())
	case reflect.Map:
		c := reflect.MakeMapWithSize(rv.Type(), rv.Len())
		for it := rv.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), it.Value())
		}
		return dbus.MakeVariantWithSignature(c.Interface(), v.Signature())
	}
	return v
}

// properties serves org.freedesktop.DBus.Properties for an object in
// place of prop's own methods, with copies of the values (see object.mu).
type properties struct{ o *object }

func (p properties) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	p.o.mu.RLock()
	defer p.o.mu.RUnlock()
	v, err := p.o.props.Get(iface, name)
	if err != nil {
		return v, err
	}
	return detach(v), nil
}

func (p properties) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != p.o.iface {
		return p.o.props.GetAll(iface) // prop's answer to an unknown interface
	}
	return p.o.values()
}

// Set refuses: every property is read-only (changes go through methods).
func (p properties) Set(iface, name string, v dbus.Variant) *dbus.Error {
	return p.o.props.Set(iface, name, v)
}

// busValue keeps strings valid for D-Bus (see busText): godbus cannot
// encode anything else, so the PropertiesChanged signal would fail and
// SetMust panic, and GetAll would fail for the whole object.
func busValue(v any) any {
	switch x := v.(type) {
	case string:
		return busText(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = busText(s)
		}
		return out
	}
	return v
}

func newRegistry(conn *dbus.Conn) (*registry, error) {
	r := &registry{conn: conn, objs: map[dbus.ObjectPath]*object{}}
	if err := conn.Export(objectManager{r}, dbusapi.RootPath, dbusapi.ObjectManagerInterface); err != nil {
		return nil, err
	}
	// Introspection for the root's ancestors, so tools walking from "/" find us.
	p := string(dbusapi.RootPath)
	for {
		if err := conn.Export(introspectable{r, dbus.ObjectPath(p)}, dbus.ObjectPath(p), "org.freedesktop.DBus.Introspectable"); err != nil {
			return nil, err
		}
		if p == "/" {
			break
		}
		p = p[:strings.LastIndex(p, "/")]
		if p == "" {
			p = "/"
		}
	}
	for _, dir := range []string{"profiles", "drives", "jobs"} {
		dp := dbus.ObjectPath(string(dbusapi.RootPath) + "/" + dir)
		if err := conn.Export(introspectable{r, dp}, dp, "org.freedesktop.DBus.Introspectable"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// add exports handler (whose methods are the interface's) with props at
// path and announces it with InterfacesAdded.
func (r *registry) add(path dbus.ObjectPath, iface string, handler any, props map[string]any) (*object, error) {
	pm := map[string]*prop.Prop{}
	for k, v := range props {
		pm[k] = &prop.Prop{Value: busValue(v), Writable: false, Emit: prop.EmitTrue}
	}
	o := &object{path: path, iface: iface}
	err := func() error {
		r.exportMu.Lock()
		defer r.exportMu.Unlock()
		if err := r.conn.Export(handler, path, iface); err != nil {
			return err
		}
		var err error
		if o.props, err = prop.Export(r.conn, path, prop.Map{iface: pm}); err != nil {
			return err
		}
		if err := r.conn.Export(properties{o}, path, dbusapi.PropertiesInterface); err != nil {
			return err
		}
		return r.conn.Export(introspectable{r, path}, path, "org.freedesktop.DBus.Introspectable")
	}()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.objs[path] = o
	r.mu.Unlock()
	all, _ := o.values()
	r.conn.Emit(dbusapi.RootPath, dbusapi.ObjectManagerInterface+".InterfacesAdded", path,
		map[string]map[string]dbus.Variant{iface: all})
	return o, nil
}

// remove unexports an object and announces it with InterfacesRemoved.
func (r *registry) remove(path dbus.ObjectPath) {
	r.mu.Lock()
	o, ok := r.objs[path]
	delete(r.objs, path)
	r.mu.Unlock()
	if !ok {
		return
	}
	r.exportMu.Lock()
	r.conn.Export(nil, path, o.iface)
	r.conn.Export(nil, path, dbusapi.PropertiesInterface)
	r.conn.Export(nil, path, "org.freedesktop.DBus.Introspectable")
	r.exportMu.Unlock()
	r.conn.Emit(dbusapi.RootPath, dbusapi.ObjectManagerInterface+".InterfacesRemoved", path, []string{o.iface})
}

type objectManager struct{ r *registry }

// GetManagedObjects is org.freedesktop.DBus.ObjectManager's one method.
func (m objectManager) GetManagedObjects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	out := map[dbus.ObjectPath]map[string]map[string]dbus.Variant{}
	for p, o := range m.r.objs {
		all, err := o.values()
		if err != nil {
			return nil, err
		}
		out[p] = map[string]map[string]dbus.Variant{o.iface: all}
	}
	return out, nil
}

type introspectable struct {
	r    *registry
	path dbus.ObjectPath
}

// Introspect returns the node's interfaces from the XML and its children
// from the registry.
func (i introspectable) Introspect() (string, *dbus.Error) {
	n := introspect.Node{Name: string(i.path)}
	n.Interfaces = append(n.Interfaces, introspect.IntrospectData)
	i.r.mu.Lock()
	o, ok := i.r.objs[i.path]
	kids := map[string]bool{}
	prefix := strings.TrimSuffix(string(i.path), "/") + "/"
	for p := range i.r.objs {
		if rest, ok := strings.CutPrefix(string(p), prefix); ok {
			kids[strings.SplitN(rest, "/", 2)[0]] = true
		}
	}
	i.r.mu.Unlock()
	if i.path == dbusapi.RootPath {
		n.Interfaces = append(n.Interfaces, introspect.Interface{
			Name: dbusapi.ObjectManagerInterface,
			Methods: []introspect.Method{{Name: "GetManagedObjects", Args: []introspect.Arg{
				{Name: "objects", Type: "a{oa{sa{sv}}}", Direction: "out"}}}},
			Signals: []introspect.Signal{
				{Name: "InterfacesAdded", Args: []introspect.Arg{{Name: "object", Type: "o"}, {Name: "interfaces", Type: "a{sa{sv}}"}}},
				{Name: "InterfacesRemoved", Args: []introspect.Arg{{Name: "object", Type: "o"}, {Name: "interfaces", Type: "as"}}},
			},
		})
		for _, d := range []string{"profiles", "drives", "jobs"} {
			kids[d] = true
		}
		kids["Manager"] = true
	}
	if i.path != dbusapi.RootPath && strings.HasPrefix(string(dbusapi.RootPath), prefix) {
		kids[strings.SplitN(strings.TrimPrefix(string(dbusapi.RootPath), prefix), "/", 2)[0]] = true
	}
	if ok {
		n.Interfaces = append(n.Interfaces, prop.IntrospectData, dbusapi.MustInterface(o.iface))
	}
	names := make([]string, 0, len(kids))
	for k := range kids {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		n.Children = append(n.Children, introspect.Node{Name: k})
	}
	b, err := xml.MarshalIndent(n, "", " ")
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	return introspect.IntrospectDeclarationString + string(b), nil
}
