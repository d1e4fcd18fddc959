package vsphere

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"sync"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// relogin logs in again when vCenter answers NotAuthenticated (the session expired in a long
// window, or an admin ended it) and repeats the call once. A change window outlives vCenter's
// idle timeout; failing a post-check for that would be a false alarm.
type relogin struct {
	next soap.RoundTripper // the client's own transport
	vc   *vim25.Client     // a client on next, for Login
	user *url.Userinfo

	mu        sync.Mutex // one login at a time; the others wait and retry on the new session
	count     int        // logins after the first, for messages and tests
	loggedOut bool       // Logout was called: never log in again
	// onRelogin, if set, hears of every new session (err nil) or failed attempt.
	onRelogin func(err error)
}

func (r *relogin) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	r.mu.Lock()
	gen := r.count
	r.mu.Unlock()
	err := r.next.RoundTrip(ctx, req, res)
	if !expired(err, res) {
		return err
	}
	switch req.(type) {
	case *methods.LoginBody, *methods.LogoutBody:
		return err
	}
	if lerr := r.login(ctx, gen); lerr != nil {
		return err // the caller sees vCenter's own answer; onRelogin has the login's
	}
	// The failed call decoded its fault into res; start from a clean body.
	v := reflect.ValueOf(res).Elem()
	v.Set(reflect.Zero(v.Type()))
	return r.next.RoundTrip(ctx, req, res)
}

// expired tells a session vCenter no longer knows: a NotAuthenticated fault, or, from the
// property collector (which vCenter serves without a session), NotAuthenticated for properties.
func expired(err error, res soap.HasFault) bool {
	if err != nil {
		return fault.Is(err, &types.NotAuthenticated{})
	}
	var objs []types.ObjectContent
	switch r := res.(type) {
	case *methods.RetrievePropertiesBody:
		if r.Res != nil {
			objs = r.Res.Returnval
		}
	case *methods.RetrievePropertiesExBody:
		if r.Res != nil && r.Res.Returnval != nil {
			objs = r.Res.Returnval.Objects
		}
	case *methods.ContinueRetrievePropertiesExBody:
		if r.Res != nil {
			objs = r.Res.Returnval.Objects
		}
	}
	for _, o := range objs {
		for _, m := range o.MissingSet {
			if _, ok := m.Fault.Fault.(*types.NotAuthenticated); ok {
				return true
			}
		}
	}
	return false
}

// login opens a new session unless another call did so since gen.
func (r *relogin) login(ctx context.Context, gen int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loggedOut {
		return errLoggedOut
	}
	if r.count != gen {
		return nil
	}
	err := session.NewManager(r.vc).Login(ctx, r.user)
	if err == nil {
		r.count++
	}
	if r.onRelogin != nil {
		r.onRelogin(err)
	}
	return err
}

var errLoggedOut = errors.New("logged out of vCenter")

// Relogins is how many times the client had to log in again.
func (c *Client) Relogins() int {
	if c.relogin == nil {
		return 0
	}
	c.relogin.mu.Lock()
	defer c.relogin.mu.Unlock()
	return c.relogin.count
}

// Logout ends the session (a bounded call; vCenter caps sessions per user, and a session left
// behind by every rehearsal can lock the service account out). Once logged out, the client does
// not log in again, and a second Logout does nothing.
func (c *Client) Logout(ctx context.Context) error {
	if c.relogin != nil {
		c.relogin.mu.Lock()
		done := c.relogin.loggedOut
		c.relogin.loggedOut = true
		c.relogin.mu.Unlock()
		if done {
			return nil
		}
		return session.NewManager(c.relogin.vc).Logout(ctx)
	}
	return nil
}
