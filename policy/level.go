// Package policy holds the six privilege levels, the Casbin model and default
// policy (embedded, overridable by files) and the enforcer the gateway asks.
// It imports nothing of the gateway's own.
package policy

import "fmt"

// Level is a privilege level: 0 (DBA) is the highest, 5 (Guest) the lowest.
// Levels are inclusive: a level holds every right of the levels below it.
type Level int

// The six levels of the contract.
const (
	DBA Level = iota
	SystemAdmin
	Admin
	PowerUser
	User
	Guest
)

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return l >= DBA && l <= Guest }

// String returns the level's name, such as "PowerUser".
func (l Level) String() string {
	switch l {
	case DBA:
		return "DBA"
	case SystemAdmin:
		return "SystemAdmin"
	case Admin:
		return "Admin"
	case PowerUser:
		return "PowerUser"
	case User:
		return "User"
	case Guest:
		return "Guest"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Role returns the policy subject of the level, such as "poweruser".
func (l Level) Role() string {
	switch l {
	case DBA:
		return "dba"
	case SystemAdmin:
		return "sysadmin"
	case Admin:
		return "admin"
	case PowerUser:
		return "poweruser"
	case User:
		return "user"
	case Guest:
		return "guest"
	}
	return ""
}
