package hub

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/nats-io/nkeys"

	"github.com/cardd/cardd/network"
)

// MaxUsersFile bounds a users file.
const MaxUsersFile = 1 << 20

// usersFile is the TOML form of a users file:
//
//	[[user]]
//	site = "office-north"
//	role = "field-office"
//	nkey = "UAB…"              # or password = "…" or tls_identity = "CN=…"
type usersFile struct {
	User []struct {
		Site        string `toml:"site"`
		Role        string `toml:"role"`
		Password    string `toml:"password"`
		NKey        string `toml:"nkey"`
		TLSIdentity string `toml:"tls_identity"`
	} `toml:"user"`
}

// ParseUsers reads a users file's contents (name is used in errors). Every
// entry is checked as Check does, and every credential may appear once.
func ParseUsers(name string, data []byte) ([]User, error) {
	if len(data) > MaxUsersFile {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", name, len(data), MaxUsersFile)
	}
	var f usersFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: %s: unknown key", name, und[0])
	}
	users := make([]User, 0, len(f.User))
	for i, u := range f.User {
		users = append(users, User{Name: u.Site, Role: network.Role(u.Role), Password: u.Password, NKey: u.NKey, TLSIdentity: u.TLSIdentity})
		if err := users[i].Check(); err != nil {
			return nil, fmt.Errorf("%s: user[%d]: %w", name, i, err)
		}
	}
	if err := checkUsers(users); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return users, nil
}

// LoadUsers reads the users file at path.
func LoadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hub users: %w", err)
	}
	return ParseUsers(path, data)
}

// MarshalUsers writes users in the users file format.
func MarshalUsers(users []User) ([]byte, error) {
	if err := checkUsers(users); err != nil {
		return nil, err
	}
	var f usersFile
	for _, u := range users {
		f.User = append(f.User, struct {
			Site        string `toml:"site"`
			Role        string `toml:"role"`
			Password    string `toml:"password"`
			NKey        string `toml:"nkey"`
			TLSIdentity string `toml:"tls_identity"`
		}{u.Name, string(u.Role), u.Password, u.NKey, u.TLSIdentity})
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewNKeyUser creates an NKey for site: it writes the seed to seedPath
// (0600, which must not exist; the site's nkey_seed) and returns the user
// with the public key for the hub's users.
func NewNKeyUser(site string, role network.Role, seedPath string) (User, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return User{}, err
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return User{}, err
	}
	seed, err := kp.Seed()
	if err != nil {
		return User{}, err
	}
	u := User{Name: site, Role: role, NKey: pub}
	if err := u.Check(); err != nil {
		return User{}, err
	}
	if err := os.MkdirAll(filepath.Dir(seedPath), 0o700); err != nil {
		return User{}, err
	}
	f, err := os.OpenFile(seedPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return User{}, fmt.Errorf("nkey seed: %w", err)
	}
	_, err = f.Write(append(seed, '\n'))
	if err == nil {
		err = f.Sync()
	}
	return u, errors.Join(err, f.Close())
}
