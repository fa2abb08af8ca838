import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { roleOf, useConsole } from '../context';

interface NavItem {
  href: string;
  label: string;
}

function navFor(admin: boolean, personal: boolean, exceptions: boolean): NavItem[] {
  const items: NavItem[] = [
    { href: '/console/request', label: 'Request a token' },
    { href: '/console/requests', label: 'My requests' },
    { href: '/console/tokens', label: 'My tokens' },
    { href: '/console/approvals', label: 'Pending approvals' },
  ];
  if (personal) items.push({ href: '/console/personal-tokens', label: 'My personal tokens' });
  if (exceptions) items.push({ href: '/console/exceptions', label: 'Exceptions' });
  if (admin) {
    items.push(
      { href: '/console/admin/tokens', label: 'All tokens' },
      { href: '/console/admin/requests', label: 'All requests' },
      { href: '/console/admin/inventory', label: 'Inventory' },
    );
    if (exceptions) items.push({ href: '/console/admin/exceptions', label: 'All exceptions' });
  }
  return items;
}

/** The frame of every signed-in page: skip link, header (who is signed in, their role, sign-out), navigation. */
export function Layout({ children }: { children: ComponentChildren }) {
  const { me, catalog, signOut } = useConsole();
  const { path } = useLocation();
  const items = navFor(me.admin, catalog.personalTokens !== undefined, catalog.exceptions !== undefined);
  // A list's own page is current; a record opened from it may come from another list (an admin's), so none is.
  const current = (href: string) => path === href;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/console/">
          Token Warden
        </a>
        <div class="who">
          <span>
            Signed in as <strong>{me.email}</strong>
          </span>
          <span class="role">{roleOf(me)}</span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav aria-label="Console">
        <ul>
          {items.map((item) => (
            <li key={item.href}>
              <a href={item.href} aria-current={current(item.href) ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">{children}</main>
    </>
  );
}
