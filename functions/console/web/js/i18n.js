// i18n.js: the console in English and Spanish, chosen from the browser's language and
// switchable (kept in localStorage). t('key', {n: 3}) fills {n}.

const en = {
  'app.name': 'Buzón',
  'signin.title': 'Sign in to your team inbox',
  'signin.email': 'Email',
  'signin.submit': 'Sign in',
  'signin.cognito': 'Sign in',
  'signin.local': 'Local stack: sign in as a seeded user (for example sofia@acme.test).',
  'signin.failed': 'Could not sign in: {reason}',
  'signout': 'Sign out',
  'views.label': 'Views',
  'view.default': 'Inbox', 'view.mine': 'Mine', 'view.unassigned': 'Unassigned', 'view.others': 'Others', 'view.all': 'All', 'view.done': 'Done',
  'list.label': 'Conversations',
  'list.empty': 'Nothing here. New conversations appear as customers write.',
  'list.more': 'Load more',
  'search.label': 'Search by name or number',
  'filters': 'Filters',
  'filter.line': 'Line', 'filter.department': 'Department', 'filter.label': 'Label', 'filter.assignee': 'Assignee', 'filter.unread': 'Unread only',
  'filter.any': 'Any',
  'badge.mine': 'Mine', 'badge.unassigned': 'Unassigned', 'badge.others': 'Others',
  'unread': '{n} unread',
  'pick': 'Pick a conversation',
  'pick.hint': 'Use j and k to move through the list, ? for every shortcut.',
  'back': 'Back to conversations',
  'thread.label': 'Messages',
  'thread.loading': 'Loading…',
  'window.left': 'Window: {t} left',
  'window.closed': 'Window closed: only a template can be sent',
  'status.queued': 'Queued', 'status.sending': 'Sending', 'status.sent': 'Sent', 'status.delivered': 'Delivered', 'status.read': 'Read', 'status.played': 'Played', 'status.failed': 'Failed', 'status.received': 'Received',
  'msg.reply': 'Reply', 'msg.replyingTo': 'Replying to', 'msg.cancelReply': 'Cancel reply', 'msg.auto': 'automatic',
  'msg.download': 'Download', 'msg.pending': 'Attachment on its way…', 'msg.unavailable': 'Attachment unavailable',
  'note': 'Note', 'note.by': 'Note by {name}',
  'ev.opened': 'Conversation opened', 'ev.routed': 'Routed {detail}', 'ev.assigned': '{actor} assigned it to {who}', 'ev.claimed': '{who} claimed it',
  'ev.returned': 'Returned to the queue', 'ev.transferred': 'Transferred {detail}', 'ev.closed': 'Closed: {reason}', 'ev.reopened': 'Reopened',
  'ev.labelled': 'Labels changed', 'ev.read': 'Read', 'ev.window_closing': 'The window closes soon', 'ev.window_closed': 'The window closed',
  'composer.label': 'Message',
  'composer.placeholder': 'Write a reply — / for quick replies',
  'composer.notePlaceholder': 'Internal note, never sent to the customer',
  'composer.send': 'Send', 'composer.addNote': 'Add note', 'composer.noteMode': 'Internal note',
  'composer.attach': 'Attach a file', 'composer.removeAttachment': 'Remove attachment',
  'composer.quick': 'Quick replies', 'composer.template': 'Send a template', 'composer.templates': 'Templates',
  'composer.sent': 'Sent', 'composer.uploading': 'Uploading…',
  'template.pick': 'Template', 'template.none': 'No approved template for this line. An admin can sync templates.',
  'template.var': 'Variable {name}',
  'typing': '{name} is writing…',
  'act.claim': 'Claim', 'act.assign': 'Assign', 'act.return': 'Return to queue', 'act.transfer': 'Transfer', 'act.close': 'Close conversation',
  'act.reopen': 'Reopen', 'act.labels': 'Labels', 'act.collaborators': 'Collaborators', 'act.more': 'More actions',
  'act.done': 'Done', 'act.cancel': 'Cancel', 'act.save': 'Save',
  'close.reason': 'Reason', 'close.note': 'Note (optional)', 'close.title': 'Close conversation',
  'transfer.title': 'Transfer', 'transfer.to': 'To', 'transfer.department': 'Department {name}', 'transfer.agent': 'Agent {name}', 'transfer.note': 'Note for the next agent',
  'assign.title': 'Assign to', 'assign.to': 'Agent',
  'labels.title': 'Labels', 'collab.title': 'Collaborators', 'collab.none': 'No collaborators yet.', 'collab.add': 'Add collaborator',
  'collab.remove': 'Remove', 'collab.leave': 'Leave', 'collab.with': 'With {names}', 'view.collaborating': 'Collaborating',
  'ev.collaborator_added': '{who} joined as a collaborator', 'ev.collaborator_removed': '{who} is no longer a collaborator', 'notify.collab': 'You were added to a conversation',
  'assignee.none': 'Unassigned', 'assignee.you': 'You',
  'available': 'Available', 'unavailable': 'Away',
  'live.live': 'Live', 'live.connecting': 'Connecting…', 'live.down': 'Reconnecting…', 'live.off': 'Live updates off',
  'notify.enable': 'Enable desktop notifications', 'notify.new': 'New message from {name}', 'notify.assigned': 'A conversation was assigned to you', 'notify.window': 'A window is closing: {name}',
  'route': 'How it got here', 'lang': 'Language', 'help': 'Keyboard shortcuts', 'admin': 'Admin', 'inbox': 'Inbox',
  'help.title': 'Keyboard shortcuts',
  'help.next': 'Next conversation', 'help.prev': 'Previous conversation', 'help.reply': 'Reply (focus the message box)', 'help.close': 'Close the conversation',
  'help.search': 'Search', 'help.send': 'Send the message', 'help.help': 'This help', 'help.claim': 'Claim the conversation', 'help.escape': 'Close a dialog',
  'error.generic': 'Something went wrong: {reason}',
  'conv.taken': 'Someone else has this conversation now.',
  'conv.gone': 'This conversation is no longer visible to you.',
  'admin.lines': 'Lines', 'admin.departments': 'Departments', 'admin.users': 'Users', 'admin.labels': 'Labels', 'admin.quick': 'Quick replies', 'admin.templates': 'Templates',
  'admin.reasons': 'Closing reasons',
  'admin.state': 'State', 'admin.department': 'Department', 'admin.number': 'Number', 'admin.provider': 'Provider',
  'admin.rules': 'Assignment rules', 'admin.hours': 'Business hours', 'admin.autoReplies': 'Auto-replies', 'admin.autoClose': 'Auto-close',
  'admin.edit': 'Edit', 'admin.json': 'Settings (JSON)', 'admin.saved': 'Saved', 'admin.create': 'Create', 'admin.delete': 'Delete',
  'admin.name': 'Name', 'admin.email': 'Email', 'admin.role': 'Role', 'admin.departmentsOf': 'Departments', 'admin.capacity': 'Capacity (open conversations, 0 = no limit)',
  'admin.disable': 'Disable', 'admin.enable': 'Enable', 'admin.disabled': 'Disabled',
  'admin.color': 'Colour', 'admin.description': 'Description', 'admin.title': 'Title', 'admin.text': 'Text',
  'admin.sync': 'Sync now', 'admin.status': 'Status', 'admin.language': 'Language', 'admin.category': 'Category', 'admin.synced': 'Synced: {n} templates',
  'admin.reasonsHint': 'One per line. Empty: any reason is accepted.',
  'admin.none': 'None yet.',
};

const es = {
  'app.name': 'Buzón',
  'signin.title': 'Entrá a la bandeja de tu equipo',
  'signin.email': 'Correo',
  'signin.submit': 'Entrar',
  'signin.cognito': 'Entrar',
  'signin.local': 'Entorno local: entrá como un usuario de prueba (por ejemplo sofia@acme.test).',
  'signin.failed': 'No se pudo entrar: {reason}',
  'signout': 'Salir',
  'views.label': 'Vistas',
  'view.default': 'Bandeja', 'view.mine': 'Mías', 'view.unassigned': 'Sin asignar', 'view.others': 'De otros', 'view.all': 'Todas', 'view.done': 'Cerradas',
  'list.label': 'Conversaciones',
  'list.empty': 'No hay nada acá. Las conversaciones nuevas aparecen cuando escriben los clientes.',
  'list.more': 'Cargar más',
  'search.label': 'Buscar por nombre o número',
  'filters': 'Filtros',
  'filter.line': 'Línea', 'filter.department': 'Departamento', 'filter.label': 'Etiqueta', 'filter.assignee': 'Asignada a', 'filter.unread': 'Solo no leídas',
  'filter.any': 'Cualquiera',
  'badge.mine': 'Mía', 'badge.unassigned': 'Sin asignar', 'badge.others': 'De otro',
  'unread': '{n} sin leer',
  'pick': 'Elegí una conversación',
  'pick.hint': 'Usá j y k para moverte por la lista, ? para ver los atajos.',
  'back': 'Volver a las conversaciones',
  'thread.label': 'Mensajes',
  'thread.loading': 'Cargando…',
  'window.left': 'Ventana: quedan {t}',
  'window.closed': 'Ventana cerrada: solo se puede enviar una plantilla',
  'status.queued': 'En cola', 'status.sending': 'Enviando', 'status.sent': 'Enviado', 'status.delivered': 'Entregado', 'status.read': 'Leído', 'status.played': 'Reproducido', 'status.failed': 'Falló', 'status.received': 'Recibido',
  'msg.reply': 'Responder', 'msg.replyingTo': 'Respondiendo a', 'msg.cancelReply': 'Cancelar respuesta', 'msg.auto': 'automático',
  'msg.download': 'Descargar', 'msg.pending': 'Adjunto en camino…', 'msg.unavailable': 'Adjunto no disponible',
  'note': 'Nota', 'note.by': 'Nota de {name}',
  'ev.opened': 'Conversación abierta', 'ev.routed': 'Enrutada {detail}', 'ev.assigned': '{actor} la asignó a {who}', 'ev.claimed': '{who} la tomó',
  'ev.returned': 'Devuelta a la cola', 'ev.transferred': 'Transferida {detail}', 'ev.closed': 'Cerrada: {reason}', 'ev.reopened': 'Reabierta',
  'ev.labelled': 'Etiquetas cambiadas', 'ev.read': 'Leída', 'ev.window_closing': 'La ventana cierra pronto', 'ev.window_closed': 'La ventana se cerró',
  'composer.label': 'Mensaje',
  'composer.placeholder': 'Escribí una respuesta — / para respuestas rápidas',
  'composer.notePlaceholder': 'Nota interna, nunca se envía al cliente',
  'composer.send': 'Enviar', 'composer.addNote': 'Agregar nota', 'composer.noteMode': 'Nota interna',
  'composer.attach': 'Adjuntar archivo', 'composer.removeAttachment': 'Quitar adjunto',
  'composer.quick': 'Respuestas rápidas', 'composer.template': 'Enviar plantilla', 'composer.templates': 'Plantillas',
  'composer.sent': 'Enviado', 'composer.uploading': 'Subiendo…',
  'template.pick': 'Plantilla', 'template.none': 'No hay plantillas aprobadas para esta línea. Un admin puede sincronizarlas.',
  'template.var': 'Variable {name}',
  'typing': '{name} está escribiendo…',
  'act.claim': 'Tomar', 'act.assign': 'Asignar', 'act.return': 'Devolver a la cola', 'act.transfer': 'Transferir', 'act.close': 'Cerrar conversación',
  'act.reopen': 'Reabrir', 'act.labels': 'Etiquetas', 'act.collaborators': 'Colaboradores', 'act.more': 'Más acciones',
  'act.done': 'Listo', 'act.cancel': 'Cancelar', 'act.save': 'Guardar',
  'close.reason': 'Motivo', 'close.note': 'Nota (opcional)', 'close.title': 'Cerrar conversación',
  'transfer.title': 'Transferir', 'transfer.to': 'A', 'transfer.department': 'Departamento {name}', 'transfer.agent': 'Agente {name}', 'transfer.note': 'Nota para el próximo agente',
  'assign.title': 'Asignar a', 'assign.to': 'Agente',
  'labels.title': 'Etiquetas', 'collab.title': 'Colaboradores', 'collab.none': 'Todavía no hay colaboradores.', 'collab.add': 'Sumar colaborador',
  'collab.remove': 'Quitar', 'collab.leave': 'Salir', 'collab.with': 'Con {names}', 'view.collaborating': 'Colaborando',
  'ev.collaborator_added': '{who} se sumó como colaborador', 'ev.collaborator_removed': '{who} ya no colabora', 'notify.collab': 'Te sumaron a una conversación',
  'assignee.none': 'Sin asignar', 'assignee.you': 'Vos',
  'available': 'Disponible', 'unavailable': 'Ausente',
  'live.live': 'En vivo', 'live.connecting': 'Conectando…', 'live.down': 'Reconectando…', 'live.off': 'Sin tiempo real',
  'notify.enable': 'Activar notificaciones', 'notify.new': 'Mensaje nuevo de {name}', 'notify.assigned': 'Te asignaron una conversación', 'notify.window': 'Cierra una ventana: {name}',
  'route': 'Cómo llegó acá', 'lang': 'Idioma', 'help': 'Atajos de teclado', 'admin': 'Administración', 'inbox': 'Bandeja',
  'help.title': 'Atajos de teclado',
  'help.next': 'Conversación siguiente', 'help.prev': 'Conversación anterior', 'help.reply': 'Responder (ir al mensaje)', 'help.close': 'Cerrar la conversación',
  'help.search': 'Buscar', 'help.send': 'Enviar el mensaje', 'help.help': 'Esta ayuda', 'help.claim': 'Tomar la conversación', 'help.escape': 'Cerrar un diálogo',
  'error.generic': 'Algo salió mal: {reason}',
  'conv.taken': 'Otra persona tiene esta conversación ahora.',
  'conv.gone': 'Ya no podés ver esta conversación.',
  'admin.lines': 'Líneas', 'admin.departments': 'Departamentos', 'admin.users': 'Usuarios', 'admin.labels': 'Etiquetas', 'admin.quick': 'Respuestas rápidas', 'admin.templates': 'Plantillas',
  'admin.reasons': 'Motivos de cierre',
  'admin.state': 'Estado', 'admin.department': 'Departamento', 'admin.number': 'Número', 'admin.provider': 'Proveedor',
  'admin.rules': 'Reglas de asignación', 'admin.hours': 'Horario de atención', 'admin.autoReplies': 'Respuestas automáticas', 'admin.autoClose': 'Cierre automático',
  'admin.edit': 'Editar', 'admin.json': 'Configuración (JSON)', 'admin.saved': 'Guardado', 'admin.create': 'Crear', 'admin.delete': 'Borrar',
  'admin.name': 'Nombre', 'admin.email': 'Correo', 'admin.role': 'Rol', 'admin.departmentsOf': 'Departamentos', 'admin.capacity': 'Capacidad (conversaciones abiertas, 0 = sin límite)',
  'admin.disable': 'Desactivar', 'admin.enable': 'Activar', 'admin.disabled': 'Desactivado',
  'admin.color': 'Color', 'admin.description': 'Descripción', 'admin.title': 'Título', 'admin.text': 'Texto',
  'admin.sync': 'Sincronizar', 'admin.status': 'Estado', 'admin.language': 'Idioma', 'admin.category': 'Categoría', 'admin.synced': 'Sincronizadas: {n} plantillas',
  'admin.reasonsHint': 'Uno por línea. Vacío: se acepta cualquier motivo.',
  'admin.none': 'Todavía nada.',
};

export const dictionaries = { en, es };
export const languages = [['en', 'English'], ['es', 'Español']];

let lang = pick();

function pick() {
  const saved = localStorage.getItem('buzon.lang');
  if (saved && dictionaries[saved]) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('es') ? 'es' : 'en';
}

export function current() {
  return lang;
}

export function set(l) {
  if (!dictionaries[l]) return;
  lang = l;
  localStorage.setItem('buzon.lang', l);
  document.documentElement.lang = l;
}

export function t(key, vars = {}) {
  const s = dictionaries[lang][key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

// time formats an instant for a list or a bubble: the hour today, the day otherwise.
export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return new Intl.DateTimeFormat(lang, sameDay ? { hour: '2-digit', minute: '2-digit' } : { day: 'numeric', month: 'short' }).format(d);
}

export function dateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

// duration is a time left, "3 h 12 min".
export function duration(ms) {
  const m = Math.max(0, Math.floor(ms / 60000));
  const hrs = Math.floor(m / 60);
  return hrs > 0 ? `${hrs} h ${m % 60} min` : `${m} min`;
}
