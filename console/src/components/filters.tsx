import { useLocation } from 'preact-iso';
import type { ApiError } from '../api';
import { FieldError, fieldAria } from './ui';

/** One filter of a list: a select of `options` (with "Any"), or a text field. */
export interface FilterField {
  /** The query parameter, in the page's URL and in the API call alike. */
  name: string;
  label: string;
  options?: readonly string[];
  /** A text field for an email address. */
  email?: boolean;
}

/**
 * A list's filters, kept in the page's URL query (so a filtered view can be linked and reloaded): their current
 * values, and `apply` to go to the same page with new ones.
 */
export function useUrlFilters(fields: readonly FilterField[]) {
  const { path, query, route } = useLocation();
  const values: Record<string, string | undefined> = {};
  for (const field of fields) {
    const value = query[field.name]?.trim();
    values[field.name] = value ? value : undefined;
  }
  const apply = (next: Record<string, string | undefined>) => {
    const search = new URLSearchParams();
    for (const field of fields) {
      const value = next[field.name]?.trim();
      if (value) search.set(field.name, value);
    }
    const qs = search.toString();
    route(qs ? `${path}?${qs}` : path);
  };
  return { path, values, apply, key: JSON.stringify(values) };
}

/** The filter form: one control per field, *Apply filters*, and *Clear filters* (a link to the unfiltered list). */
export function Filters({
  label,
  fields,
  filters,
  error,
}: {
  label: string;
  fields: readonly FilterField[];
  filters: ReturnType<typeof useUrlFilters>;
  error?: ApiError;
}) {
  const submit = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    filters.apply(Object.fromEntries(fields.map((f) => [f.name, String(data.get(f.name) ?? '')])));
  };
  return (
    // Keyed by the URL's values: going back or forward shows the filters of that view.
    <form key={filters.key} class="filters" aria-label={label} onSubmit={submit}>
      {fields.map((field) => {
        const id = `filter-${field.name}`;
        const value = filters.values[field.name] ?? '';
        const aria = fieldAria(error, field.name);
        return (
          <div class="field" key={field.name}>
            <label for={id}>{field.label}</label>
            {field.options ? (
              <select id={id} name={field.name} {...aria}>
                <option value="" selected={value === ''}>
                  Any
                </option>
                {field.options.map((option) => (
                  <option key={option} value={option} selected={option === value}>
                    {option}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                name={field.name}
                type="text"
                inputMode={field.email ? 'email' : undefined}
                autoComplete="off"
                spellcheck={false}
                defaultValue={value}
                {...aria}
              />
            )}
            <FieldError id={`${field.name}-error`} error={error} field={field.name} />
          </div>
        );
      })}
      <div class="actions">
        <button type="submit">Apply filters</button>
        <a href={filters.path}>Clear filters</a>
      </div>
    </form>
  );
}
