package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/certctl/certctl/certstore"
	"github.com/certctl/certctl/platform"
	"github.com/certctl/certctl/thumbprint"
)

// Every sign-in is kept as a named context in ContextsFile in the config
// folder, with the name of the current one: what 'token' and the other
// commands use unless told otherwise. The file is secret-free, mode 0600,
// and replaced atomically; changes take a lock, so that two sign-ins at
// once do not lose one another's context.
//
// Before named contexts, certctl kept one context in LegacyContextFile. It
// is still read when ContextsFile does not exist, as the current context,
// and removed once ContextsFile is written.
const (
	ContextsFile      = "contexts.json"
	LegacyContextFile = "context.json"
	contextsLock      = "contexts.lock"
)

// Contexts are the saved sign-ins.
type Contexts struct {
	// Current is the name of the current context; "" when there is none.
	Current string `json:"current"`
	// List holds the contexts, sorted by name.
	List []*Context `json:"contexts"`
}

// ErrUnknownContext is matched when no context has the name asked for.
var ErrUnknownContext = errors.New("no sign-in context with that name")

// UnknownContextError names the context and lists those there are.
type UnknownContextError struct {
	Name  string
	Known []string
}

func (e *UnknownContextError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("%v: %.200q (saved contexts: %s)", ErrUnknownContext, e.Name, known)
}

// Is makes errors.Is(err, ErrUnknownContext) true.
func (e *UnknownContextError) Is(target error) bool { return target == ErrUnknownContext }

// DefaultContextName names a context after its account and tenant, and its
// environment when that is not the default one. Control characters, which
// a name may not hold, become '?'.
func DefaultContextName(account, tenant, environment string) string {
	name := account + "/" + tenant
	if environment != "" && !strings.EqualFold(environment, DefaultEnvironment) {
		name += "/" + environment
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, name)
}

// Names lists the contexts' names, sorted.
func (cs *Contexts) Names() []string {
	names := make([]string, len(cs.List))
	for i, c := range cs.List {
		names[i] = c.Name
	}
	return names
}

// Find returns the context called name, or the current one when name is
// empty. It fails with ErrNoContext when there is no current one, and with
// an *UnknownContextError when none has the name.
func (cs *Contexts) Find(name string) (*Context, error) {
	if name == "" {
		if cs.Current == "" {
			return nil, fmt.Errorf("%w: no current sign-in context", ErrNoContext)
		}
		name = cs.Current
	}
	for _, c := range cs.List {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, &UnknownContextError{Name: name, Known: cs.Names()}
}

// Put adds c, or replaces the context of the same name, and makes it
// current. A context without a name gets DefaultContextName.
func (cs *Contexts) Put(c *Context) {
	if c.Name == "" {
		c.Name = DefaultContextName(c.Account, c.Tenant, c.Environment)
	}
	kept := cs.List[:0]
	for _, o := range cs.List {
		if o.Name != c.Name {
			kept = append(kept, o)
		}
	}
	cs.List = append(kept, c)
	sort.Slice(cs.List, func(i, j int) bool { return cs.List[i].Name < cs.List[j].Name })
	cs.Current = c.Name
}

// Remove deletes the context called name (the current one when empty) and
// returns it. The current context, removed, leaves none current.
func (cs *Contexts) Remove(name string) (*Context, error) {
	c, err := cs.Find(name)
	if err != nil {
		return nil, err
	}
	kept := cs.List[:0]
	for _, o := range cs.List {
		if o != c {
			kept = append(kept, o)
		}
	}
	cs.List = kept
	if cs.Current == c.Name {
		cs.Current = ""
	}
	return c, nil
}

// validate checks every context and that names are unique and the
// current one exists.
func (cs *Contexts) validate() error {
	seen := map[string]bool{}
	for _, c := range cs.List {
		if c == nil {
			return fmt.Errorf("%w: an empty context", ErrMalformed)
		}
		if c.Name == "" {
			return fmt.Errorf("%w: a context without a name", ErrMalformed)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("context %.200q: %w", c.Name, err)
		}
		if seen[c.Name] {
			return fmt.Errorf("%w: two contexts are named %.200q", ErrMalformed, c.Name)
		}
		seen[c.Name] = true
	}
	if cs.Current != "" && !seen[cs.Current] {
		return fmt.Errorf("%w: the current context %.200q is not among the contexts", ErrMalformed, cs.Current)
	}
	return nil
}

// LoadContexts reads the saved contexts; none saved is no error. The file
// is trusted only if no other user could have written it (an error
// matching platform.ErrUnsafePermissions otherwise), and every field is
// checked again; a file that fails is a *ContextError.
func LoadContexts(configDir string) (*Contexts, error) {
	cs, err := readContextsFile(configDir)
	if !errors.Is(err, fs.ErrNotExist) {
		return cs, err
	}
	c, err := readLegacyContext(configDir)
	if errors.Is(err, fs.ErrNotExist) {
		return &Contexts{}, nil
	}
	if err != nil {
		return nil, err
	}
	cs = &Contexts{}
	cs.Put(c)
	return cs, nil
}

func readContextsFile(configDir string) (*Contexts, error) {
	path := filepath.Join(configDir, ContextsFile)
	data, err := readSettings(configDir, ContextsFile)
	if err != nil {
		return nil, err
	}
	var cs Contexts
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, &ContextError{Path: path, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	if err := cs.validate(); err != nil {
		return nil, &ContextError{Path: path, Err: err}
	}
	return &cs, nil
}

// readLegacyContext reads the one context that certctl kept before named
// contexts.
func readLegacyContext(configDir string) (*Context, error) {
	path := filepath.Join(configDir, LegacyContextFile)
	data, err := readSettings(configDir, LegacyContextFile)
	if err != nil {
		return nil, err
	}
	var c Context
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, &ContextError{Path: path, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	if err := c.Validate(); err != nil {
		return nil, &ContextError{Path: path, Err: err}
	}
	return &c, nil
}

// readSettings reads a settings file of configDir; a missing one is an
// error matching fs.ErrNotExist.
func readSettings(configDir, name string) ([]byte, error) {
	path := filepath.Join(configDir, name)
	data, err := platform.ReadConfigFile(configDir, name, maxConfigSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case errors.Is(err, platform.ErrNotRegular), errors.Is(err, platform.ErrTooLarge):
		return nil, &ContextError{Path: path, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	case err != nil:
		return nil, &ContextError{Path: path, Err: err}
	}
	return data, nil
}

// UpdateContexts reads the contexts, lets change alter them, and saves
// them if it returns nil, all under the contexts' lock. Nothing is saved
// when change fails, and the saved contexts stay as they were.
func UpdateContexts(configDir string, change func(*Contexts) error) error {
	if err := platform.MkdirPrivate(configDir); err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	lock, err := platform.LockFile(filepath.Join(configDir, contextsLock))
	if err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	defer lock.Unlock()
	cs, err := LoadContexts(configDir)
	if err != nil {
		return err
	}
	if err := change(cs); err != nil {
		return err
	}
	if err := cs.validate(); err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	data, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	if err := platform.WriteConfigFile(configDir, ContextsFile, append(data, '\n')); err != nil {
		return fmt.Errorf("save sign-in context: %w", err)
	}
	// The one context of an older certctl is in ContextsFile now.
	if err := os.Remove(filepath.Join(configDir, LegacyContextFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", filepath.Join(configDir, LegacyContextFile), err)
	}
	return nil
}

// SaveContext saves c (named DefaultContextName when it has no name),
// replacing the context of the same name, and makes it current. It
// refuses a context that LoadContexts would refuse.
func SaveContext(configDir string, c *Context) error {
	return UpdateContexts(configDir, func(cs *Contexts) error {
		if c.Name == "" {
			c.Name = DefaultContextName(c.Account, c.Tenant, c.Environment)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("save sign-in context: %w", err)
		}
		cs.Put(c)
		return nil
	})
}

// LoadContext reads the context called name, or the current one when name
// is empty. It fails with ErrNoContext when nobody is signed in.
func LoadContext(configDir, name string) (*Context, error) {
	cs, err := LoadContexts(configDir)
	if err != nil {
		return nil, err
	}
	if len(cs.List) == 0 {
		return nil, fmt.Errorf("%w: no sign-in context in %s", ErrNoContext, configDir)
	}
	return cs.Find(name)
}

// RemoveAllContexts deletes every saved context, without reading them: it
// works on a file that does not load. It reports whether there was one.
func RemoveAllContexts(configDir string) (bool, error) {
	removed := false
	for _, name := range []string{ContextsFile, LegacyContextFile} {
		err := os.Remove(filepath.Join(configDir, name))
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return removed, fmt.Errorf("remove sign-in contexts: %w", err)
		}
	}
	return removed, nil
}

// RepointCertificate makes every saved context that signs in with the
// certificate old in store (under storeDir) use new instead, as a rotation
// does once new can sign in, and returns the names of the contexts it
// changed. Thumbprints are compared as thumbprints, whatever their spelling.
func RepointCertificate(configDir, store, storeDir string, old, new thumbprint.Thumbprint) ([]string, error) {
	var changed []string
	err := UpdateContexts(configDir, func(cs *Contexts) error {
		changed = nil
		for _, c := range cs.List {
			if c.Thumbprint == "" || !sameStore(c, store, storeDir) {
				continue
			}
			if tp, err := thumbprint.Parse(c.Thumbprint); err == nil && tp == old {
				c.Thumbprint = new.String()
				changed = append(changed, c.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// ContextsUsing lists the names of the saved contexts that sign in with the
// certificate tp in store (under storeDir).
func ContextsUsing(configDir, store, storeDir string, tp thumbprint.Thumbprint) ([]string, error) {
	cs, err := LoadContexts(configDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range cs.List {
		if c.Thumbprint == "" || !sameStore(c, store, storeDir) {
			continue
		}
		if t, err := thumbprint.Parse(c.Thumbprint); err == nil && t == tp {
			names = append(names, c.Name)
		}
	}
	return names, nil
}

// sameStore reports whether c's certificate is in store under storeDir.
func sameStore(c *Context, store, storeDir string) bool {
	a, err1 := certstore.CanonicalName(c.Store)
	b, err2 := certstore.CanonicalName(store)
	return err1 == nil && err2 == nil && a == b && filepath.Clean(c.StoreDir) == filepath.Clean(storeDir)
}
